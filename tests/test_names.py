"""The package's names follow the rule of its docstring: layers take ``units``, model
builders ``num_units``."""

import dataclasses
import inspect

import keras
import pytest

from rnnbook import bench, cells, config, fused, models

LAYERS = [
    member
    for module in (cells, fused)
    for _, member in inspect.getmembers(module, inspect.isclass)
    if issubclass(member, keras.layers.Layer) and member.__module__ == module.__name__
]


@pytest.mark.parametrize(
    "layer", LAYERS + list(models.RECURRENT_LAYERS.values()), ids=lambda f: f.__name__
)
def test_a_layer_takes_units_as_keras_layers_do(layer):
    # A class's signature leaves out self, as a call does.
    assert next(iter(inspect.signature(layer).parameters)) == "units"


@pytest.mark.parametrize(
    "builder", [models.single_lstm, models.stack], ids=lambda f: f.__name__
)
def test_a_model_builder_takes_num_units(builder):
    assert "num_units" in inspect.signature(builder).parameters
    assert "units" not in inspect.signature(builder).parameters


def test_specs_and_settings_say_num_units():
    assert "num_units" in {field.name for field in dataclasses.fields(bench.Spec)}
    for name in ("03_single_lstm", "04_stacked_lstms"):
        settings = config.get_profile("full").chapter(name)
        assert hasattr(settings, "num_units") and not hasattr(settings, "units")
