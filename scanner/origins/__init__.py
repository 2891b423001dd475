"""Who made each component: the knowledge base, inference rules and user overrides."""
