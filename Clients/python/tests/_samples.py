"""Sample requests shared by the tests."""
CONTEXT = {"user": {"segment": "sports", "age": 31.0}}
ACTIONS = [
    {"id": "article-1", "features": {"item": {"topic": "football", "length": 420.0}}},
    {"id": "article-2", "features": {"item": {"topic": "cooking"}}},
    {"id": "article-3", "features": {"item": {"topic": "travel", "length": 80}}},
]
