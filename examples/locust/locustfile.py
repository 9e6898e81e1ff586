"""A small Locust user for perf-gate: `perf-gate run --script examples/locust/locustfile.py --target URL`.

perf-gate runs Locust headless with the users, spawn rate and run time of the task's share and
the target as the host (-H), so the paths here are relative.
"""
from locust import HttpUser, between, task


class DemoUser(HttpUser):
    wait_time = between(0.05, 0.15)

    @task(4)
    def fast(self):
        self.client.get("/fast", name="GET /fast")

    @task(2)
    def slow(self):
        self.client.get("/slow", name="GET /slow")

    @task(2)
    def flaky(self):
        # The sample target answers HTTP 500 about 30% of the time; Locust counts those as failures.
        self.client.get("/flaky", name="GET /flaky")
