/// The long-running service: scheduler, systemd notify, signals, health and metrics, logging.
