"""Projects tab through gradio (in-process server): open by name, restore from the browser's
state, rename, delete with confirmation, upload a labelled dataset, export as a download, and
messages in Chinese. Also: ``--project`` is a name in the data folder (issue 14 item 4)."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from sdaug.settings import Settings
from sdaug.ui.app import build_app
from sdaug.ui.context import AppContext
from sdaug.ui.launch import project_folder

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "sample_dataset"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[AppContext, str, dict[str, int]]]:
    ctx = AppContext(settings=Settings(home=tmp_path / "home"), model="tiny", local=False)
    ctx.settings.ensure_dirs()
    demo = build_app(ctx)
    fns: dict[str, int] = {}
    for index, fn in demo.fns.items():
        fns.setdefault(fn.name, index)
    demo.queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, allowed_paths=ctx.allowed_paths(),
                            i18n=ctx.build_i18n())
    try:
        yield ctx, url, fns
    finally:
        demo.close()


def sample_zip(tmp_path: Path) -> Path:
    archive = tmp_path / "sample.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in SAMPLE.rglob("*"):
            if path.is_file():
                zf.write(path, f"sample/{path.relative_to(SAMPLE)}")
    return archive


def test_create_open_upload_export_rename_delete(app, tmp_path: Path) -> None:
    ctx, url, fns = app
    client = Client(url, verbose=False, headers={"Cookie": "sdaug_lang=en"})
    # 1. A fresh browser: nothing saved, no project open; the tab is not changed.
    loaded = client.predict({}, fn_index=fns["on_load"])
    assert "Open or create a project" in loaded[1]
    # 2. Create with a pasted class list; it opens, and the browser's state remembers it.
    created = client.predict("bins", "bin not full, bin overflowing\ngarbage", {}, fn_index=fns["on_create"])
    assert any(isinstance(v, dict) and v.get("project") == "bins" for v in created)
    assert "Created bins with 3 classes." in created
    # 3. Upload a zipped YOLO dataset through the browser.
    added = client.predict([handle_file(str(sample_zip(tmp_path)))], None, "yolo", fn_index=fns["on_add"])
    assert any(isinstance(v, str) and v.startswith("Added **6** images") for v in added)
    again = client.predict([handle_file(str(sample_zip(tmp_path)))], None, "yolo", fn_index=fns["on_add"])
    assert any(isinstance(v, str) and "6 duplicates not added again" in v for v in again)
    # 4. Export: a download of the zip, no server path in the text.
    report, download = client.predict("coco", "0.5,0.5", 1, False, fn_index=fns["on_export"])
    assert "6 images (3 train, 3 val)" in report and str(ctx.settings.home) not in report
    assert Path(download["value"]).name == "bins-coco.zip"
    with zipfile.ZipFile(download["value"]) as first:
        assert sum(name.endswith(".jpg") or name.endswith(".png") for name in first.namelist()) == 6
    # Exporting again after a change gives the new export, not the earlier file of the same name.
    ctx.open_project("bins").set_split(1, "test")
    _, again_download = client.predict("coco", "", 1, False, fn_index=fns["on_export"])
    with zipfile.ZipFile(again_download["value"]) as second:
        assert any("test" in name for name in second.namelist())
    # 5. A reload in another session comes back to the project the browser saved.
    other = Client(url, verbose=False)
    restored = other.predict({"project": "bins", "tab": "annotate"}, fn_index=fns["on_load"])
    assert restored[1].startswith("**1 / 6**")
    for tampered in ({"project": "../../etc", "tab": "x"}, {"project": ["bins"]}, [1, 2], "bins"):
        assert "Open or create a project" in Client(url, verbose=False).predict(tampered, fn_index=fns["on_load"])[1]
    # 6. Rename; the old name is gone, the new one opens. The other session, still on the old name,
    #    is told so (the old folder is not made again).
    client.predict("bins 2", {}, fn_index=fns["on_rename"])
    assert ctx.projects.names() == ["bins 2"]
    with pytest.raises(Exception, match="there is no project named 'bins'"):
        other.predict(fn_index=fns["run"])  # the annotator's Next button
    assert ctx.projects.names() == ["bins 2"]
    # 7. Delete needs the name typed; a wrong name deletes nothing.
    with pytest.raises(Exception, match="The name typed is not bins 2"):
        client.predict("bins", {}, fn_index=fns["on_delete"])
    client.predict("bins 2", {}, fn_index=fns["on_delete"])
    assert ctx.projects.names() == []


def test_import_from_an_allowed_server_folder(tmp_path: Path) -> None:
    from sdaug.dataset.uploads import ImportRoots

    shared = tmp_path / "shared"
    (shared / "yolo").mkdir(parents=True)
    for path in SAMPLE.rglob("*"):
        if path.is_file():
            target = shared / "yolo" / path.relative_to(SAMPLE)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    ctx = AppContext(settings=Settings(home=tmp_path / "home"), model="tiny", local=False,
                     import_roots=ImportRoots.of([shared]))
    demo = build_app(ctx)
    fns = {fn.name: index for index, fn in reversed(list(demo.fns.items()))}
    demo.queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, i18n=ctx.build_i18n())
    try:
        client = Client(url, verbose=False)
        client.predict({}, fn_index=fns["on_load"])
        client.predict("bins", "", {}, fn_index=fns["on_create"])
        added = client.predict("shared/yolo", "yolo", fn_index=fns["on_add_root"])
        assert any(isinstance(v, str) and v.startswith("Added **6** images") for v in added)
        with pytest.raises(Exception, match="not one of the folders"):
            client.predict("shared/../../", "images", fn_index=fns["on_add_root"])
    finally:
        demo.close()


def test_messages_in_chinese(app) -> None:
    ctx, url, fns = app
    client = Client(url, verbose=False, headers={"Cookie": "sdaug_lang=zh-CN"})
    client.predict({}, fn_index=fns["on_load"])
    with pytest.raises(Exception, match="请先打开或新建项目"):
        client.predict(None, None, "images", fn_index=fns["on_add"])
    created = client.predict("垃圾桶", "桶，垃圾", {}, fn_index=fns["on_create"])
    assert "已新建 垃圾桶，共 2 个类别。" in created
    with pytest.raises(Exception, match="请先选择照片"):
        client.predict(None, None, "images", fn_index=fns["on_add"])
    with pytest.raises(Exception, match="项目名称 '../x' 以点开头"):
        client.predict("../x", "", {}, fn_index=fns["on_create"])
    with pytest.raises(Exception, match="已经有名为 '垃圾桶' 的项目"):
        client.predict("垃圾桶", "", {}, fn_index=fns["on_create"])


def test_project_option_is_a_name_in_the_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 14 item 4: ``--project bins`` made ``./bins`` in the server's working directory."""
    monkeypatch.chdir(tmp_path)
    settings = Settings(home=tmp_path / "home")
    assert project_folder(settings, "bins") == (settings.projects_dir / "bins").resolve()
    assert not (tmp_path / "bins").exists()
    assert project_folder(settings, settings.projects_dir / "bins") == (settings.projects_dir / "bins").resolve()
    with pytest.raises(ValueError, match="not in the projects folder"):
        project_folder(settings, tmp_path / "elsewhere")


def test_settings_are_read_only_off_local(app, tmp_path: Path) -> None:
    ctx, url, fns = app
    assert "choose_model" not in fns and "set_memory_mode" not in fns
    local_ctx = AppContext(settings=Settings(home=tmp_path / "local"), model="tiny", local=True)
    local = build_app(local_ctx)
    local_fns = {fn.name: index for index, fn in reversed(list(local.fns.items()))}
    assert {"choose_model", "set_memory_mode"} <= set(local_fns)
    # Locally the model can be changed; the header keeps the session's project line.
    local.queue()
    _, local_url, _ = local.launch(prevent_thread_lock=True, quiet=True, i18n=local_ctx.build_i18n())
    try:
        client = Client(local_url, verbose=False)
        client.predict({}, fn_index=local_fns["on_load"])
        client.predict("bins", "", {}, fn_index=local_fns["on_create"])
        note, header = client.predict("tiny", "", api_name="/set_model")
        assert "tiny" in note and "Project: **bins**" in header
    finally:
        local.close()


def test_no_rename_or_delete_while_a_job_runs(app, monkeypatch: pytest.MonkeyPatch) -> None:
    import sdaug.augment.jobs

    ctx, url, fns = app
    client = Client(url, verbose=False)
    client.predict({}, fn_index=fns["on_load"])
    client.predict("bins", "bin", {}, fn_index=fns["on_create"])
    folder = ctx.projects.folder("bins")
    monkeypatch.setattr(sdaug.augment.jobs, "running_jobs", lambda where: [3] if Path(where) == folder else [])
    with pytest.raises(Exception, match="Job #3 is running on bins"):
        client.predict("bins 2", {}, fn_index=fns["on_rename"])
    with pytest.raises(Exception, match="Job #3 is running on bins"):
        client.predict("bins", {}, fn_index=fns["on_delete"])
    assert ctx.projects.names() == ["bins"]
