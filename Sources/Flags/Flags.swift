/// Indicators, flag rules, the flag lifecycle and exports.
