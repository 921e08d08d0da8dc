"""Load while training, against a real launch.py server: concurrent keyword / free-text searches and captions
(gradio_client, one thread each) idle and while a real training run goes (started by the app's worker):
no errors, p50 / p95 printed beside the idle figures (speed is the benchmark's business, not asserted here).
Then the queue's limit: a burst of joins beyond `--max-queue` gets an immediate "Queue is full" (HTTP 503)
for the excess, every accepted request completes (no hang), and the server answers the next request."""
from __future__ import annotations

import json
import time

from engine.train.worker import TrainingJob
from tests.reliability_load import burst, latency_summary, request_mix, run_concurrently
from tests.reliability_server import client_for, find_endpoint, running_server
from tests.reliability_training import TRAIN_DATA, small_overrides

CI_SEARCHES, CI_CAPTIONS = 16, 4          # 20 concurrent requests (the benchmark: 50 + 10)
MAX_QUEUE = 24                            # waiting room of this server; 4 of each kind run at once


def test_search_and_caption_under_load_while_training_and_a_full_queue(tmp_path):
    # The training run starts with the server (their start-ups overlap); the idle figures come after it is cancelled.
    training = TrainingJob(TRAIN_DATA, tmp_path / "run", "tiny", "lexmlm,cmmm",
                           small_overrides(steps=2000, checkpoint_every=100)).start()
    try:
        with running_server(tmp_path / "server", "--max-queue", str(MAX_QUEUE)) as server:
            client = client_for(server, max_workers=64)
            refresh = find_endpoint(client, "spec_value", "query_value", "split_value", fallback="/refresh")
            clip_ids = [row[0] for row in client.predict("synthetic", "", "all", api_name=refresh)[0]["data"][:50]]
            mix = request_mix(client, CI_SEARCHES, CI_CAPTIONS, clip_ids)
            warm = run_concurrently(client, [m for m in mix if m[0] == "caption"][:1] + [m for m in mix if "search" in m[0]][:2])
            assert not [r for r in warm if r["error"]], warm
            while training.running and not training.metrics():    # training steps are being taken
                time.sleep(0.2)
            assert training.running, training.log_tail()
            steps_before = len(training.metrics())
            loaded = latency_summary(run_concurrently(client, mix))
            still_training, steps_during = training.running, len(training.metrics()) - steps_before
            training.cancel()
            idle = latency_summary(run_concurrently(client, mix))
            print("\nidle:", json.dumps(idle), "\nwhile training:", json.dumps(loaded), f"({steps_during} steps meanwhile)")
            assert loaded["errors"] == 0, loaded
            assert idle["errors"] == 0, idle
            assert still_training, "the training run ended before the load did: make it longer"

            search = find_endpoint(client, "query_value", "mode_value", "k_value", fallback="/run_search")
            full = burst(server, search, ["walk left", "keywords", 10, "synthetic"], n=4 * MAX_QUEUE)
            print("burst:", json.dumps(full))
            assert full["busy"] > 0, full                             # the excess was turned away at once ...
            assert all("Queue is full" in text for text in full["busy_answers"]), full
            assert set(full["codes"]) <= {200, 503}, full
            assert full["completed"] == full["accepted"] and not full["failed"], full   # ... and no accepted one hung
            assert server.alive()
            assert "hits" in client.predict("walk", "keywords", 5, "synthetic", api_name=search)[0]
    finally:
        training.cancel()
