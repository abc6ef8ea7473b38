"""What every service shares: config, errors, domain rules, data access and web wiring."""
