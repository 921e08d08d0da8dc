"""The Engine's training runs, told from their own records (a part of the one facade, engine/facade.py):
plans with time estimates, start / resume / cancel, status, the runs listed with their eval tables."""
from __future__ import annotations

import os
import time
from pathlib import Path

import math

from .errors import MotionLexError, SpecError
from .run_records import (DEFAULT_STEP_S, RUN_RECORD, RUNS_ENV, eval_table, measured_rates, minutes, modified,
                          read_json, read_records, remember_run, remembered_runs, run_status, write_json)


class RunsMixin:
    def runs_root(self) -> Path:
        """Where runs started from the app go (and are listed from): $MOTIONLEX_RUNS or <repo>/runs."""
        from .train.worker import REPO_ROOT

        return Path(os.environ.get(RUNS_ENV) or REPO_ROOT / "runs")

    def training_plan(self, data: str, preset: str = "tiny", phases: str = "all", overrides=None,
                      max_minutes: float | None = None) -> dict:
        """What a run would do and how long it would take, before it starts: {"phases": [{"phase", "steps",
        "seconds_per_step", "seconds", "source"}], "startup_s", "total_s", "budget_s", "fits_first", "fits_all",
        "message"}. Seconds per step come from earlier runs' metrics.jsonl with the same preset (the shipped
        model's included), else from the README's measured tiny-preset rates."""
        from .config import preset as load_preset
        from .config_overrides import apply_overrides
        from .train.run import parse_phases

        names = parse_phases(phases or "all")
        config = apply_overrides(load_preset(preset), [o.strip() for o in overrides or [] if o.strip()])
        rates, startup = measured_rates(self, preset)
        items = None
        rows = []
        for name in names:
            try:
                pcfg = config.train.phase(name)
            except (AttributeError, KeyError, ValueError, SpecError):
                pcfg = None
            steps = getattr(pcfg, "steps", 0) if pcfg is not None else 0
            if not steps and pcfg is not None:
                if items is None:
                    try:
                        items = sum(len(self.dataset(s.strip()).split("train")) for s in data.split(",") if s.strip())
                    except MotionLexError:
                        items = 0
                steps = pcfg.total_steps(max(1, items))
            rate, source = rates.get(name, (DEFAULT_STEP_S.get(name, 0.5), "README estimate"))
            rows.append({"phase": name, "steps": int(steps), "seconds_per_step": rate,
                         "seconds": round(steps * rate, 1), "source": source})
        total = startup + sum(r["seconds"] for r in rows)
        budget = None if not max_minutes else 60.0 * float(max_minutes)
        first = startup + (rows[0]["seconds"] if rows else 0.0)
        fits_first = budget is None or budget >= first
        fits_all = budget is None or budget >= total
        message = ""
        if not fits_first:
            message = (f"a {max_minutes:g}-minute budget is too short for the first phase ({rows[0]['phase']}: "
                       f"{rows[0]['steps']} steps, about {minutes(first)} with start-up): the run would stop "
                       f"without any checkpoint. Give at least {math.ceil(first / 60 + 0.5):g} minutes, leave the "
                       f"budget empty, or lower train.{rows[0]['phase']}.steps")
        elif not fits_all:
            done, spent = [], startup
            for r in rows:
                spent += r["seconds"]
                if spent > budget:
                    break
                done.append(r["phase"])
            message = (f"the whole run needs about {minutes(total)}; the {max_minutes:g}-minute budget will stop "
                       f"it after {', '.join(done) or rows[0]['phase']}, before the final model is written (Resume "
                       "continues it)")
        return {"phases": rows, "startup_s": round(startup, 1), "total_s": round(total, 1), "budget_s": budget,
                "fits_first": fits_first, "fits_all": fits_all, "message": message}

    def start_run(self, data: str, preset: str = "tiny", phases: str = "all", out: str | None = None,
                  overrides: list[str] | None = None, max_minutes: float | None = None) -> dict:
        """start_training, refused before it starts when the budget cannot finish even the first phase, with
        the run's request recorded in <out>/run.json (so it can be listed, shown and resumed after a restart).
        -> {"run": run id, "out_dir", "plan"}."""
        if self._job is not None and self._job.running:
            raise MotionLexError(f"a training run is already going ({self._job.out_dir}); cancel it first")
        overrides = [o.strip() for o in overrides or [] if o.strip()]
        if max_minutes is not None and max_minutes <= 0:
            raise SpecError("max minutes must be positive (or empty for no limit)")
        plan = self.training_plan(data, preset, phases, overrides, max_minutes)
        if not plan["fits_first"]:
            raise MotionLexError(plan["message"])
        if not out or not str(out).strip():
            out = str(self.runs_root() / time.strftime("%Y%m%d-%H%M%S"))
        run_id = self.start_training(data, preset, phases, out, overrides, max_minutes)
        folder = Path(self._job.out_dir)
        write_json(folder / RUN_RECORD, {"data": data.strip(), "preset": preset, "phases": (phases or "all").strip(),
                                          "overrides": overrides, "max_minutes": max_minutes,
                                          "started": self._job.started, "attempts": 1, "plan": plan})
        self.__dict__.setdefault("_session_runs", []).append(folder)
        remember_run(self.runs_root(), folder)
        return {"run": run_id, "out_dir": str(folder), "plan": plan}

    def resume_run(self, out: str | os.PathLike, max_minutes: float | None = None) -> dict:
        """Continue a stopped run (`engine train --resume` with the request in its run.json)."""
        from .train.worker import TrainingJob

        if self._job is not None and self._job.running:
            raise MotionLexError(f"a training run is already going ({self._job.out_dir}); cancel it first")
        folder = Path(out).expanduser().resolve()
        record = read_json(folder / RUN_RECORD)
        if not record:
            raise MotionLexError(f"{folder.name} has no run.json (it was not started from the app), so its "
                                 "request is unknown; resume it with `python -m engine train ... --resume`")
        if (folder / "manifest.json").is_file():
            raise MotionLexError(f"{folder.name} is finished already: its final model is written")
        budget = max_minutes if max_minutes else record.get("max_minutes")
        self._job = TrainingJob(record["data"], folder, record["preset"], record["phases"], record["overrides"],
                                budget, resume=True).start()
        record.update(attempts=int(record.get("attempts", 1)) + 1, resumed=self._job.started, cancelled=False)
        write_json(folder / RUN_RECORD, record)
        if folder not in self.__dict__.setdefault("_session_runs", []):
            self._session_runs.append(folder)
        return self.run_status()

    def cancel_run(self) -> dict:
        """Cancel the current run if it is going; otherwise say how it ended (never an error)."""
        job = self._job
        if job is None or not job.running:
            status = self.run_status()
            status["message"] = ("no run is going" if status["state"] == "none"
                                 else f"the run had already ended ({status['label']}); nothing to cancel")
            return status
        job.cancel()
        record = read_json(job.out_dir / RUN_RECORD)
        if record:
            record.update(cancelled=True, ended=time.time())
            write_json(job.out_dir / RUN_RECORD, record)
        status = self.run_status()
        status["message"] = "cancelled" + (" (Resume continues from its last checkpoint)" if status["resumable"] else "")
        return status

    def _run_folder(self, out=None) -> Path | None:
        if out:
            return Path(out).expanduser().resolve()
        if self._job is not None:
            return Path(self._job.out_dir)
        runs = self.training_runs()
        return Path(runs[0]["out_dir"]) if runs else None

    def run_status(self, out: str | os.PathLike | None = None) -> dict:
        """The truth about a run (the current one, else the latest on disk), from its own records: the process
        (while this server runs it), metrics.jsonl, the phase checkpoints, the final manifest, the CLI's JSON
        summary in train.log and run.json. -> {"state": starting | running | done | stopped | cancelled |
        failed | incomplete | none, "label", "phase", "step", "total_steps", "phases", "phases_done", "elapsed_s",
        "left_s", "budget_left_s", "usable" (a loadable final model), "resumable", "running", "out_dir",
        "run", "log", "records", "stopped_because", "message", "current" (this server's run)}."""
        folder = self._run_folder(out)
        if folder is None:
            return {"state": "none", "label": "no run yet", "running": False, "usable": False, "resumable": False,
                    "out_dir": None, "run": None, "log": "", "records": 0, "phases": [], "phases_done": [],
                    "current": False, "message": ""}
        job = self._job if self._job is not None and Path(self._job.out_dir) == folder else None
        return run_status(folder, job, self.training_plan_cache(folder))

    def training_plan_cache(self, folder: Path) -> dict | None:
        return (read_json(folder / RUN_RECORD) or {}).get("plan")

    def training_runs(self, root: str | os.PathLike | None = None) -> list[dict]:
        """Runs under the runs folder (and the ones this server started elsewhere), newest first: {"run",
        "out_dir", "state", "label", "phases_done", "step", "usable", "modified", "eval"}."""
        base = Path(root) if root else self.runs_root()
        folders = set(self.__dict__.get("_session_runs", []))
        folders.update(p for p in remembered_runs(base) if p.is_dir())
        if self._job is not None:
            folders.add(Path(self._job.out_dir))
        if base.is_dir():
            folders.update(p.resolve() for p in base.iterdir() if p.is_dir() and (
                (p / "metrics.jsonl").is_file() or (p / "manifest.json").is_file() or (p / RUN_RECORD).is_file()))
        rows = []
        for folder in folders:
            job = self._job if self._job is not None and Path(self._job.out_dir) == folder else None
            s = run_status(folder, job, None)
            rows.append({"run": folder.name, "out_dir": str(folder), "state": s["state"], "label": s["label"],
                         "phases_done": s["phases_done"], "step": s.get("step"), "total_steps": s.get("total_steps"),
                         "phase": s.get("phase"), "usable": s["usable"], "modified": modified(folder),
                         "eval": eval_table(read_json(folder / "eval.json"))})
        return sorted(rows, key=lambda r: -r["modified"])

    def run_details(self, out: str | os.PathLike) -> dict:
        """One run for the Training tab's run list: its status, its records, its final manifest's metrics and
        its eval table (eval.json, when `engine eval` was run on it)."""
        folder = Path(out).expanduser().resolve()
        manifest = read_json(folder / "manifest.json") or {}
        return {"status": self.run_status(folder), "records": read_records(folder),
                "final_metrics": manifest.get("metrics") or {}, "eval": eval_table(read_json(folder / "eval.json"))}
