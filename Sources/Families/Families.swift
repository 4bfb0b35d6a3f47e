/// Households and family grouping: see the module's other files.
