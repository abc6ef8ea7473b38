"""The market relay: the feed's websocket ticker stream, republished on the ``market`` topic."""
