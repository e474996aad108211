"""Analytics: what emails did, read off the log (`metrics`)."""
