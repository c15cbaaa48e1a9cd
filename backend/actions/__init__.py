"""The service layer's actions, by concern; `backend/service.py` composes them into `Service`."""
