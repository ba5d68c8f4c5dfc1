// The header in include/ is the whole target.
