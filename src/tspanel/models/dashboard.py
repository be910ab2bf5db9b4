"""The headless dashboard: one dataset, one set of filters, every domain model."""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping
from typing import Any

import param

from tspanel.models.base import DomainModel, collect_outputs
from tspanel.models.cache import RESULTS, dataset_token, fresh_containers, plain
from tspanel.models.classifier import ClassifierModel
from tspanel.models.filters import Filters
from tspanel.models.kpis import KpiModel
from tspanel.models.queue import QueueModel
from tspanel.models.volume import VolumeModel

# What Dashboard.refresh computes: outputs per domain, a set of whole domains, or everything.
Only = Mapping[str, Collection[str]] | Collection[str] | None


class Dashboard(param.Parameterized):
    """Everything a session computes, usable without a browser.

    The CLI (`tspanel kpis`, `tspanel bench`), the weekly summary and the Panel app all
    go through this object, so every surface shows the same numbers.
    """

    filters = param.ClassSelector(class_=Filters, constant=True)
    use_cache = param.Boolean(
        default=True,
        doc="serve refresh() from the process-wide result cache (tspanel.models.cache.RESULTS); "
        "False always recomputes (benchmarks)",
    )
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

    def refresh(self, only: Only = None) -> dict[str, dict[str, Any]]:
        """Every view's data in one pass: all models' queries run in a single collect_all.

        ``only`` restricts it to some outputs per model (e.g. ``{"kpis": ["current"]}``),
        or to whole domains (``{"kpis", "queue"}``: what a page with its queue tab open
        needs; the hidden tabs' domains are not computed).
        Results are shared through the process-wide cache, keyed on plain values (see
        :meth:`cache_key`), so sessions with the same selection compute it once. The
        computation runs on a snapshot of the filters and parameters: a filter changed
        while it runs cannot mix two selections in one result.
        """
        only = self.outputs(only)
        snapshot = self.snapshot()
        if not self.use_cache:
            return snapshot._compute(only)
        key = snapshot.cache_key(only)
        return fresh_containers(RESULTS.get_or_compute(key, lambda: snapshot._compute(only)))

    def outputs(self, only: Only = None) -> dict[str, list[str] | None] | None:
        """``only`` as outputs per model; None for a model stands for its every output.

        Why None and not the names: listing a model's outputs means building its lazy queries
        (``queries()``), which the computation then builds again (~5% of a queue-tab click).
        """
        if only is None or isinstance(only, Mapping):
            return None if only is None else {name: list(outputs) for name, outputs in only.items()}
        models = self.models()
        unknown = sorted(set(only) - set(models))
        if unknown:
            raise ValueError(f"unknown domain(s) {unknown}; known: {sorted(models)}")
        return dict.fromkeys((name for name in models if name in only), None)

    def cache_key(self, only: dict[str, list[str] | None] | None = None) -> tuple[Hashable, ...]:
        """Dataset token, filters, every model's parameters and the requested outputs."""
        params = tuple((model_name, model_params(model)) for model_name, model in self.models().items())
        wanted = (
            None
            if only is None
            else tuple((name, None if outputs is None else tuple(outputs)) for name, outputs in only.items())
        )
        return (dataset_token(self.dataset), self.filters.key(), params, wanted)

    def snapshot(self) -> Dashboard:
        """An independent copy with the current filters and model parameters."""
        copy = Dashboard(self.dataset, self.filters.derive(), use_cache=self.use_cache)
        for model_name, model in self.models().items():
            copy.models()[model_name].param.update(**model_params(model, as_dict=True))
        return copy

    def _compute(self, only: dict[str, list[str] | None] | None) -> dict[str, dict[str, Any]]:
        specs: dict[str, Any] = {}
        for model_name, model in self.models().items():
            if only is not None and model_name not in only:
                continue
            queries = model.queries()
            wanted = None if only is None else only[model_name]
            names = list(queries) if wanted is None else wanted
            for name in names:
                specs[f"{model_name}.{name}"] = queries[name]
        flat = collect_outputs(specs, engine=self.dataset.engine)
        out: dict[str, dict[str, Any]] = {}
        for key, value in flat.items():
            model_name, name = key.split(".", 1)
            out.setdefault(model_name, {})[name] = value
        return out

    def headline(self) -> dict[str, Any]:
        """The KPIs of the current selection (what `tspanel kpis` prints)."""
        return self.kpis.kpis()


_NOT_PARAMETERS = frozenset({"name", "dataset", "filters"})


def model_params(model: DomainModel, *, as_dict: bool = False) -> Any:
    """A model's own parameters (not its dataset, filters or name), as a hashable tuple or a dict."""
    values = {k: v for k, v in model.param.values().items() if k not in _NOT_PARAMETERS}
    return values if as_dict else tuple(sorted((k, plain(v)) for k, v in values.items()))
