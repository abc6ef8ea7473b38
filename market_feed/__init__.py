"""Mock market-data feed: the top 20 coins in the shapes of Bithumb's public API v1, in USD.

Run it with ``python -m market_feed``; settings come from ``MARKET_FEED_*`` variables
(``market_feed/config.py``). Prices follow a seeded, deterministic path
(``market_feed/model.py``); ``market_feed/server.py`` serves them.
"""
