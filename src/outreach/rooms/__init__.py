"""Room requests: patrons and partner organisations ask for a room, staff decide."""
