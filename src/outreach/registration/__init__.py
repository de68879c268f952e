"""Registration for events with limited places: capacity, the waitlist, signed
self-service links, check-in, erasure of personal data, and the notices all this owes."""
