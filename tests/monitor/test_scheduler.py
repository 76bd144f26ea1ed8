"""The schedule: pure decisions at the season edges (Asia/Shanghai), config, and the persistent job store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml

from domain.config import Config, ConfigError, load_config
from monitor import scheduler as sch
from monitor.scheduler import ScheduleSettings, check_due, crawl_due, schedule_settings
from monitor.service import Service
from tests.monitor.alerts_fixtures import pg_url  # noqa: F401  (fixture)

CST = ZoneInfo("Asia/Shanghai")
S = ScheduleSettings()


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


def test_first_crawl_is_due_at_once():
    assert crawl_due(cst(2023, 7, 1, 3), None, S)


@pytest.mark.parametrize(
    ("last", "now", "due"),
    [
        # in season: daily, from 06:00 Shanghai
        (cst(2023, 1, 10, 6), cst(2023, 1, 10, 23, 59), False),
        (cst(2023, 1, 10, 6), cst(2023, 1, 11, 5, 59), False),
        (cst(2023, 1, 10, 6), cst(2023, 1, 11, 6, 0), True),
        (cst(2023, 1, 10, 6), cst(2023, 1, 12, 0, 30), True),  # a day overdue: does not wait for 06:00
        # 15 April is the season's last day, 16 April is weekly again
        (cst(2023, 4, 14, 6), cst(2023, 4, 15, 6), True),
        (cst(2023, 4, 15, 6), cst(2023, 4, 16, 6), False),
        (cst(2023, 4, 15, 6), cst(2023, 4, 21, 23), False),
        (cst(2023, 4, 15, 6), cst(2023, 4, 22, 6), True),
        # New Year in Shanghai is 16:00 UTC on 31 December: the season starts by the Shanghai calendar
        (cst(2022, 12, 25, 7), datetime(2022, 12, 31, 15, 59, tzinfo=UTC), False),
        (cst(2022, 12, 25, 7), datetime(2022, 12, 31, 16, 0, tzinfo=UTC), True),
        # leap day in season
        (cst(2024, 2, 28, 6), cst(2024, 2, 29, 6), True),
    ],
)
def test_crawl_due_edges(last, now, due):
    assert crawl_due(now, last.astimezone(UTC), S) is due


def test_check_is_due_once_per_shanghai_day():
    checked = datetime(2023, 1, 31, 15, 59, tzinfo=UTC)  # 23:59 on 31 January in Shanghai
    assert not check_due(checked + timedelta(seconds=30), checked)
    assert check_due(datetime(2023, 1, 31, 16, 0, tzinfo=UTC), checked)  # 1 February 00:00 in Shanghai
    assert check_due(checked, None)


def _config(tmp_path, schedule=None) -> Config:
    """A config.yaml with this ``schedule:`` section, loaded as gkwatch loads it."""
    data = {"database": {"url": f"sqlite:///{tmp_path / 'gk.db'}"}}
    if schedule is not None:
        data["schedule"] = schedule
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return load_config(path)


def test_schedule_config(tmp_path):
    s = schedule_settings(
        _config(tmp_path, {"season_start": "11-15", "season_end": "02-28", "season_every_days": 2, "hour": 9})
    )
    assert s.in_season(cst(2023, 12, 31).date()) and s.in_season(cst(2024, 2, 10).date())
    assert not s.in_season(cst(2024, 3, 1).date())
    assert crawl_due(cst(2023, 12, 3, 9), cst(2023, 12, 1, 9), s)
    assert not crawl_due(cst(2023, 12, 3, 8, 59), cst(2023, 12, 1, 9), s)
    for bad in (
        {"hour": 24},
        {"season_start": "13-01"},
        {"season_every_days": "x"},
        {"weekly": 1},
        {"outbox_every_minutes": 0},
    ):
        with pytest.raises(ConfigError, match=f"schedule.{next(iter(bad))}"):
            _config(tmp_path, bad)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def jobstore_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gk.db'}"
    return request.getfixturevalue("pg_url")


def test_job_store_survives_a_restart(tmp_path, jobstore_url):
    cfg = _config(tmp_path)
    cfg.database_url = jobstore_url

    async def start_and_read(config: Config, paused: bool = True) -> dict[str, tuple]:
        service = Service(config)
        service.start(paused=paused)
        try:
            return {
                j.id: (j.next_run_time, str(j.trigger), j.func_ref, list(j.args))
                for j in service.scheduler.get_jobs()
            }
        finally:
            service.stop()
            await asyncio.sleep(0)

    first = asyncio.run(start_and_read(cfg))
    assert set(first) == {sch.DISPATCH_JOB, sch.OUTBOX_JOB}
    path = str((tmp_path / "config.yaml").resolve())
    assert first[sch.DISPATCH_JOB][2:] == ("monitor.scheduler:dispatch", [path])
    assert first[sch.DISPATCH_JOB][1] == "interval[1:00:00]"

    again = asyncio.run(start_and_read(cfg))
    assert again == first  # same jobs, same next run times: a restart does not push the schedule out

    other = _config(tmp_path, {"dispatch_every_minutes": 30})
    other.database_url = jobstore_url
    changed = asyncio.run(start_and_read(other))
    assert changed[sch.DISPATCH_JOB][1] == "interval[0:30:00]"
    assert changed[sch.OUTBOX_JOB] == first[sch.OUTBOX_JOB]


def test_scheduler_runs_a_due_job_on_the_loop(tmp_path, monkeypatch):
    """The stored outbox job fires on the asyncio loop and calls the module-level function."""
    calls: list[str] = []
    monkeypatch.setattr(sch, "deliver_due", lambda path: calls.append(path) or 0)

    async def run() -> None:
        service = Service(_config(tmp_path))
        service.start(paused=True)
        scheduler = service.scheduler
        try:
            job = scheduler.get_job(sch.OUTBOX_JOB)
            scheduler.modify_job(sch.OUTBOX_JOB, next_run_time=datetime.now(UTC))
            assert job is not None
            scheduler.resume()
            for _ in range(50):
                if calls:
                    break
                await asyncio.sleep(0.1)
        finally:
            service.stop()
            await asyncio.sleep(0)

    asyncio.run(run())
    assert calls == [str((tmp_path / "config.yaml").resolve())]


def test_trigger_crawl_now_without_a_running_service_says_no(tmp_path):
    assert Service(_config(tmp_path)).trigger_crawl_now() is False


def test_trigger_crawl_now_with_the_scheduler_queues_one_job(tmp_path):
    cfg = _config(tmp_path)

    async def run() -> list:
        service = Service(cfg)
        service.start(paused=True)  # paused: the job is queued, not run
        try:
            answers = [service.trigger_crawl_now(), service.trigger_crawl_now()]
            job = service.scheduler.get_job(sch.CRAWL_NOW_JOB, jobstore="memory")
            answers.append((job.func_ref, list(job.args), job.kwargs))
            return answers
        finally:
            service.stop()
            await asyncio.sleep(0)

    first, second, job = asyncio.run(run())
    assert (first, second) == (True, False)  # a second press while one is pending is refused
    assert job == (
        "monitor.scheduler:run_cycle",
        [str((tmp_path / "config.yaml").resolve())],
        {"crawl": True},
    )
