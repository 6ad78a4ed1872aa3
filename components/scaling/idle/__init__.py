"""The idle schedule: zero serving pods outside working hours (`schedule.py`), and the script its
CronJobs run (`scale.py`)."""
