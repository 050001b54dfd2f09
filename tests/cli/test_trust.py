"""A run directory is data: loading one runs no code from it (docs/reliability.md, "Trust model")."""

import sys
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hbaezoo import config as gin_config
from hbaezoo.errors import CheckpointError, ConfigError
from hbaezoo.eval.report import build_report, eval_table
from hbaezoo.plugins import trusted_modules
from hbaezoo.rundir.layout import RunDir

names = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)
dotted = st.lists(names, min_size=1, max_size=3).map(".".join)
import_lines = st.one_of(
    dotted.map(lambda m: f"import {m}"),
    st.tuples(dotted, names).map(lambda t: f"import {t[0]} as {t[1]}"),
    st.tuples(dotted, names).map(lambda t: f"from {t[0]} import {t[1]}"),
    st.just("include 'other.gin'"),
)
RECIPE_LINES = ["run.model = @models.hbae", "run.dataset = @datasets.shapes", "Trainer.steps = 3", "# a comment"]


def parse_loaded(path, **kwargs):
    """Parse a config file as a loaded run's config.gin (the run directory reads it; config parses it)."""
    return gin_config.parse_loaded(Path(path).read_text(), Path(path), **kwargs)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(line=import_lines, where=st.integers(0, len(RECIPE_LINES)), dynamic=st.booleans())
def test_generated_import_lines_in_a_loaded_config_are_refused_and_run_nothing(line, where, dynamic, tmp_path):
    lines = list(RECIPE_LINES)
    lines.insert(where, line)
    if dynamic:
        lines.insert(0, "from __gin__ import dynamic_registration")
    path = tmp_path / f"{uuid.uuid4().hex}.gin"
    path.write_text("\n".join(lines) + "\n")
    before = set(sys.modules)
    with pytest.raises(ConfigError, match="would run code"):
        parse_loaded(path, trusted_modules=set())
    assert set(sys.modules) == before, "a module was imported while checking"


def test_trust_config_lets_the_import_run(tmp_path, monkeypatch):
    module = f"trusted_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(f"open({str(tmp_path / 'ran')!r}, 'w').close()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "c.gin").write_text(f"import {module}\nTrainer.steps = 3\n")
    with pytest.raises(ConfigError):
        parse_loaded(tmp_path / "c.gin", trusted_modules=set())
    assert not (tmp_path / "ran").exists()
    parse_loaded(tmp_path / "c.gin", trusted_modules=set(), trust=True)
    assert (tmp_path / "ran").exists()


def test_only_installed_plugins_the_run_recorded_are_trusted():
    from importlib.metadata import entry_points

    installed = {ep.module for ep in entry_points(group="hbaezoo.plugins")}
    assert trusted_modules(["os", "evil"]) == set()
    assert trusted_modules(sorted(installed)) == installed
    assert trusted_modules("not a list") == set()
    assert trusted_modules([], plugins=["mine"]) == {"mine"}


def test_a_recorded_installed_plugin_may_be_imported(tmp_path):
    from importlib.metadata import entry_points

    modules = [ep.module for ep in entry_points(group="hbaezoo.plugins")]
    if not modules:
        pytest.skip("no hbaezoo plugin installed")
    (tmp_path / "c.gin").write_text(f"import {modules[0]}\nTrainer.steps = 3\n")
    parse_loaded(tmp_path / "c.gin", trusted_modules=set(modules))


def test_a_config_gin_that_is_a_link_to_a_device_is_refused(tmp_path):
    (tmp_path / "config.gin").symlink_to("/dev/zero")
    with pytest.raises(CheckpointError, match="not a regular file"):
        RunDir(tmp_path).read_config()


markup = st.one_of(
    st.sampled_from(["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "</td></tr></table><b>", "&amp;<"]),
    st.text(alphabet="<>&\"'/ascript= ", min_size=1, max_size=30),
)
PAGE_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "small", "p", "b", "table", "tr",
             "th", "td", "ul", "li", "img", "details", "summary", "pre"}


def tags_and_text(page: str) -> tuple[set[str], str]:
    from html.parser import HTMLParser

    class Collect(HTMLParser):
        tags, text = set(), []

        def handle_starttag(self, tag, attrs):
            self.tags.add(tag)

        def handle_data(self, data):
            self.text.append(data)

    c = Collect(convert_charrefs=True)
    c.feed(page)
    return c.tags, "".join(c.text)


@settings(max_examples=40, deadline=None)
@given(value=markup, field=st.sampled_from(["seed", "n", "checkpoint_step", "model", "created"]))
def test_generated_markup_in_results_json_is_escaped(value, field):
    results = {"model": "m", "extractor": {"name": value}, "metrics": {value: {"status": "ok", "values": {value: value}},
               "other": {"status": value, "reason": value}}, "info": {value: value}, field: value}
    tags, text = tags_and_text(eval_table(results))
    assert tags <= PAGE_TAGS, f"markup from results.json became tags: {tags - PAGE_TAGS}"
    assert value in text, "the value must show as text"


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=markup)
def test_generated_markup_in_metrics_and_config_is_escaped(value, tmp_path):
    import json

    run = tmp_path / uuid.uuid4().hex
    run.mkdir()
    (run / "metrics.jsonl").write_text(json.dumps({"step": value, "a/loss": 1.0}) + "\n"
                                       + json.dumps({"step": 2, value: 1.0, "a/loss": 2.0}) + "\n")
    (run / "config.gin").write_text(f"# {value}\n")
    tags, text = tags_and_text(build_report(run))
    assert tags <= PAGE_TAGS, f"markup from the run became tags: {tags - PAGE_TAGS}"
    assert value in text
