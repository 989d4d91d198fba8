"""Processing: the gate that receives, checks in order and imports deliveries (GA §4.3)."""
