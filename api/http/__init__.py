"""HTTP views: thin adapters between requests and the domain."""
