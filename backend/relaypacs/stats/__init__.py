"""Upload analytics: the stats API, its CSV export and its cache."""
