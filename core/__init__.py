"""disval: validate and process DIS deliveries."""
__version__ = "0.1.0"
