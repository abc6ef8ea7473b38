"""The trigger checker: a process that fires automatic buys and sells at their prices."""
