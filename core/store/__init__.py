"""The delivery store: deliveries, providers and imported records in typed tables."""
