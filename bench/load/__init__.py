"""The load side: the Locust scenarios, the request pool they send, the raw samples they write."""
