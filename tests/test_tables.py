import pandas as pd
import pytest

from rnnbook import tables


def rows(text):
    return [line for line in text.splitlines() if line.startswith("|")]


def test_a_named_index_is_a_column_and_a_repeated_label_is_shown_once():
    frame = pd.DataFrame(
        {"Images / s": [7288.4, 6303.0, 1900.2]},
        index=pd.MultiIndex.from_tuples(
            [("LSTM 1x100", "unroll"), ("LSTM 1x100", "keras"), ("GRU 3x150", "keras")],
            names=["Model", "Way to train"],
        ),
    )
    lines = rows(tables.markdown(frame, {"Images / s": ",.0f"}))
    assert lines[0] == "| Model | Way to train | Images / s |"
    assert lines[1] == "|---|---|--:|"
    assert lines[2:] == [
        "| LSTM 1x100 | unroll | 7,288 |",
        "|  | keras | 6,303 |",
        "| GRU 3x150 | keras | 1,900 |",
    ]


def test_an_unnamed_index_is_left_out_and_values_are_formatted():
    frame = pd.DataFrame(
        {"Model": ["LSTM"], "Parameters": [52610], "Beats noise": [True]}, index=[7]
    )
    text = tables.markdown(frame, note="¹ a note")
    assert rows(text)[2] == "| LSTM | 52,610 | yes |"
    assert text.endswith("\n¹ a note\n")


def test_code_style_headers_and_unformatted_floats_are_refused():
    with pytest.raises(tables.TableError, match="'test_accuracy' is a variable name"):
        tables.markdown(pd.DataFrame({"test_accuracy": ["1"]}))
    with pytest.raises(tables.TableError, match="give its precision"):
        tables.markdown(pd.DataFrame({"Accuracy": [0.5]}))
    with pytest.raises(tables.TableError, match="names no column"):
        tables.markdown(pd.DataFrame({"Accuracy": [0.5]}), {"Acuracy": ".1f"})
    half_named = pd.DataFrame(
        {"Value": [1]}, index=pd.MultiIndex.from_tuples([(1, 2)], names=["Step", None])
    )
    with pytest.raises(tables.TableError, match="Name every level"):
        tables.markdown(half_named)


def test_a_missing_value_shows_as_a_dash_not_nan():
    frame = pd.DataFrame({"Model": ["LSTM", "Peepholes"], "× PyTorch": [0.52, None]})
    text = tables.markdown(frame, {"× PyTorch": ".2f"})
    assert rows(text)[1:] == [
        "|---|--:|",
        "| LSTM | 0.52 |",
        f"| Peepholes | {tables.MISSING} |",
    ]
