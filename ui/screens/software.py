"""Software: a comps environment, extra groups and packages, from the catalog of the repositories."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Input, OptionList, Static

from installer.api import Catalog
from profiles.sizes import format_size
from ui import glyphs
from ui.screens.base import StepScreen
from ui.widgets import MarkList, Plain


def _size(size: int | None) -> str:
    return format_size(size) if size is not None else "size unknown"


class SoftwareScreen(StepScreen):
    AUTO_FOCUS = "#environments"  # set before the first key is read, unlike focus() in on_mount
    STEP = "Software"

    def body(self) -> ComposeResult:
        c = self.installer.choices
        yield Plain("Repository", classes="label")
        yield Input(c.repository, placeholder="file:///path, https://... or a directory", id="repository")
        yield Plain("Environment (Space chooses one):", classes="note")
        yield MarkList(self.env_rows, id="environments")
        yield Plain("Extra groups (Space adds or removes):", classes="note")
        yield MarkList(self.group_rows, id="groups")
        yield Plain("", id="description", classes="note")
        yield Plain("Extra packages", classes="label")
        yield Input(c.packages, placeholder="names separated by spaces", id="packages")

    @property
    def catalog(self) -> Catalog:
        return self.installer.catalog or Catalog()

    def env_rows(self) -> list[str]:
        c = self.installer.choices
        rows = [f"{glyphs.SELECTED if c.environment == e.id else glyphs.UNSELECTED} {e.name} ({e.id}), "
                f"{_size(e.size)}" for e in self.catalog.environments]
        none = glyphs.SELECTED if c.environment is None else glyphs.UNSELECTED
        return [*rows, f"{none} none (only the groups and packages below)"]

    def group_rows(self) -> list[str]:
        c = self.installer.choices
        return [f"{glyphs.CHECKED if g.id in c.groups else glyphs.UNCHECKED} {g.name} ({g.id}), {_size(g.size)}"
                for g in self.catalog.groups if g.uservisible or g.id in c.groups] or ["(no groups known)"]

    def visible_groups(self) -> list[str]:
        c = self.installer.choices
        return [g.id for g in self.catalog.groups if g.uservisible or g.id in c.groups]

    def catalog_changed(self) -> None:
        self.query_one("#environments", MarkList).rebuild()
        self.query_one("#groups", MarkList).rebuild()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        text = ""
        if event.option_list.id == "environments" and event.option_index < len(self.catalog.environments):
            text = self.catalog.environments[event.option_index].description
        elif event.option_list.id == "groups" and event.option_index < len(self.visible_groups()):
            group = self.catalog.group(self.visible_groups()[event.option_index])
            text = group.description if group else ""
        self.query_one("#description", Static).update(text)

    def on_mark_list_toggled(self, event: MarkList.Toggled) -> None:
        c = self.installer.choices
        if event.marklist.id == "environments":
            envs = self.catalog.environments
            c.environment = envs[event.index].id if event.index < len(envs) else None
        else:
            ids = self.visible_groups()
            if event.index < len(ids):
                gid = ids[event.index]
                c.groups = [g for g in c.groups if g != gid] if gid in c.groups else [*c.groups, gid]
        event.marklist.rebuild()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "packages":
            self.installer.choices.packages = event.value
        elif event.input.id == "repository":
            self.installer.choices.repository = event.value

    def validate(self) -> list[str]:
        return self.installer.choices.check_software()
