"""Privacy: erasing a person everywhere."""
