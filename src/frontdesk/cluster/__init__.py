"""Many nodes (design section 5): one node at a time owns the engine through a lease; every node
answers every request, forwarding what needs the engine to the owner."""
