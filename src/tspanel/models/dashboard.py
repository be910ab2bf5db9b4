"""The headless dashboard: one dataset, one set of filters, every domain model."""

from __future__ import annotations

from typing import Any

import param

from tspanel.models.base import DomainModel, collect_outputs
from tspanel.models.classifier import ClassifierModel
from tspanel.models.filters import Filters
from tspanel.models.kpis import KpiModel
from tspanel.models.queue import QueueModel
from tspanel.models.volume import VolumeModel


class Dashboard(param.Parameterized):
    """Everything a session computes, usable without a browser.

    The CLI (`tspanel kpis`, `tspanel bench`), the weekly summary and the Panel app all
    go through this object, so every surface shows the same numbers.
    """

    filters = param.ClassSelector(class_=Filters, constant=True)
    kpis = param.ClassSelector(class_=KpiModel, constant=True)
    volume = param.ClassSelector(class_=VolumeModel, constant=True)
    classifier = param.ClassSelector(class_=ClassifierModel, constant=True)
    queue = param.ClassSelector(class_=QueueModel, constant=True)

    def __init__(self, dataset: Any, filters: Filters | None = None, **params: Any) -> None:
        filters = filters or Filters()
        super().__init__(
            filters=filters,
            kpis=KpiModel(dataset, filters),
            volume=VolumeModel(dataset, filters),
            classifier=ClassifierModel(dataset, filters),
            queue=QueueModel(dataset, filters),
            **params,
        )
        self.dataset = dataset

    def models(self) -> dict[str, DomainModel]:
        return {"kpis": self.kpis, "volume": self.volume, "classifier": self.classifier, "queue": self.queue}

    def refresh(self, only: dict[str, list[str]] | None = None) -> dict[str, dict[str, Any]]:
        """Every view's data in one pass: all models' queries run in a single collect_all.

        ``only`` restricts it to some outputs per model (e.g. ``{"kpis": ["current"]}``).
        """
        specs: dict[str, Any] = {}
        for model_name, model in self.models().items():
            if only is not None and model_name not in only:
                continue
            queries = model.queries()
            names = only[model_name] if only is not None else list(queries)
            for name in names:
                specs[f"{model_name}.{name}"] = queries[name]
        flat = collect_outputs(specs)
        out: dict[str, dict[str, Any]] = {}
        for key, value in flat.items():
            model_name, name = key.split(".", 1)
            out.setdefault(model_name, {})[name] = value
        return out

    def headline(self) -> dict[str, Any]:
        """The KPIs of the current selection (what `tspanel kpis` prints)."""
        return self.kpis.kpis()
