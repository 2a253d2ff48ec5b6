"""The MongoDB manual's own aggregation examples (reference/operator/aggregation/*), with its stated outputs.

They run through the embedded engine over documents in memory (`_id`s as the manual has them, not
ObjectIds); `$lookup` reads the other collection through the same `$match` semantics the stores use.
Where the manual leaves the order unspecified (groups), results are compared by `_id`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from epochlog.query.aggregate.match import match
from epochlog.query.aggregate.pipeline import check_pipeline
from epochlog.query.aggregate.stages import run_stages

UTC = dt.timezone.utc


def aggregate(documents: list[dict[str, Any]], pipeline: list[dict[str, Any]],
              **collections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return run_stages(check_pipeline(pipeline), [dict(doc) for doc in documents],
                      lambda name, filter: match(filter, collections[name]))


def by_id(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(documents, key=lambda document: str(document["_id"]))


SALES = [
    {"_id": 1, "item": "abc", "price": 10, "quantity": 2, "date": dt.datetime(2014, 3, 1, 8, tzinfo=UTC)},
    {"_id": 2, "item": "jkl", "price": 20, "quantity": 1, "date": dt.datetime(2014, 3, 1, 9, tzinfo=UTC)},
    {"_id": 3, "item": "xyz", "price": 5, "quantity": 10, "date": dt.datetime(2014, 3, 15, 9, tzinfo=UTC)},
    {"_id": 4, "item": "xyz", "price": 5, "quantity": 20, "date": dt.datetime(2014, 4, 4, 11, 21, 39, 736000, tzinfo=UTC)},
    {"_id": 5, "item": "abc", "price": 10, "quantity": 10, "date": dt.datetime(2014, 4, 4, 21, 23, 13, 331000, tzinfo=UTC)},
    {"_id": 6, "item": "def", "price": 7.5, "quantity": 5, "date": dt.datetime(2015, 6, 4, 5, 8, 13, tzinfo=UTC)},
    {"_id": 7, "item": "def", "price": 7.5, "quantity": 10, "date": dt.datetime(2015, 9, 10, 8, 43, tzinfo=UTC)},
    {"_id": 8, "item": "abc", "price": 10, "quantity": 5, "date": dt.datetime(2016, 2, 6, 20, 20, 13, tzinfo=UTC)},
]


def test_group_by_item_having() -> None:
    """$group: "Group by Item Having"."""
    found = aggregate(SALES, [
        {"$group": {"_id": "$item", "totalSaleAmount": {"$sum": {"$multiply": ["$price", "$quantity"]}}}},
        {"$match": {"totalSaleAmount": {"$gte": 100}}}])
    assert by_id(found) == [{"_id": "abc", "totalSaleAmount": 170}, {"_id": "def", "totalSaleAmount": 112.5},
                            {"_id": "xyz", "totalSaleAmount": 150}]


def test_group_by_null() -> None:
    """$group: "Group by null" (the whole collection)."""
    found = aggregate(SALES, [{"$group": {"_id": None, "totalSaleAmount": {"$sum": {"$multiply": ["$price", "$quantity"]}},
                                          "averageQuantity": {"$avg": "$quantity"}, "count": {"$sum": 1}}}])
    assert found == [{"_id": None, "totalSaleAmount": 452.5, "averageQuantity": 7.875, "count": 8}]


def test_group_count_and_distinct() -> None:
    """$group: "Count the Number of Documents", "Retrieve Distinct Values"."""
    assert aggregate(SALES, [{"$group": {"_id": None, "count": {"$count": {}}}}]) == [{"_id": None, "count": 8}]
    assert by_id(aggregate(SALES, [{"$group": {"_id": "$item"}}])) == [{"_id": "abc"}, {"_id": "def"}, {"_id": "jkl"},
                                                                       {"_id": "xyz"}]


SCORES = [{"_id": 1, "subject": "History", "score": 88}, {"_id": 2, "subject": "History", "score": 92},
          {"_id": 3, "subject": "History", "score": 97}, {"_id": 4, "subject": "History", "score": 71},
          {"_id": 5, "subject": "History", "score": 79}, {"_id": 6, "subject": "History", "score": 83}]


def test_count() -> None:
    """$count: documents with a score above 80."""
    assert aggregate(SCORES, [{"$match": {"score": {"$gt": 80}}}, {"$count": "passing_scores"}]) == \
        [{"passing_scores": 4}]


CLOTHING = [{"_id": 1, "item": "Shirt", "sizes": ["S", "M", "L"]}, {"_id": 2, "item": "Shorts", "sizes": []},
            {"_id": 3, "item": "Hat", "sizes": "M"}, {"_id": 4, "item": "Gloves"},
            {"_id": 5, "item": "Scarf", "sizes": None}]


def test_unwind() -> None:
    """$unwind: a non-array operand is one element; preserveNullAndEmptyArrays; includeArrayIndex."""
    assert aggregate(CLOTHING, [{"$unwind": "$sizes"}]) == [
        {"_id": 1, "item": "Shirt", "sizes": "S"}, {"_id": 1, "item": "Shirt", "sizes": "M"},
        {"_id": 1, "item": "Shirt", "sizes": "L"}, {"_id": 3, "item": "Hat", "sizes": "M"}]
    assert aggregate(CLOTHING, [{"$unwind": {"path": "$sizes", "preserveNullAndEmptyArrays": True}}]) == [
        {"_id": 1, "item": "Shirt", "sizes": "S"}, {"_id": 1, "item": "Shirt", "sizes": "M"},
        {"_id": 1, "item": "Shirt", "sizes": "L"}, {"_id": 2, "item": "Shorts"}, {"_id": 3, "item": "Hat", "sizes": "M"},
        {"_id": 4, "item": "Gloves"}, {"_id": 5, "item": "Scarf", "sizes": None}]
    assert aggregate(CLOTHING, [{"$unwind": {"path": "$sizes", "includeArrayIndex": "arrayIndex"}}]) == [
        {"_id": 1, "item": "Shirt", "sizes": "S", "arrayIndex": 0}, {"_id": 1, "item": "Shirt", "sizes": "M", "arrayIndex": 1},
        {"_id": 1, "item": "Shirt", "sizes": "L", "arrayIndex": 2}, {"_id": 3, "item": "Hat", "sizes": "M", "arrayIndex": None}]


ORDERS = [{"_id": 1, "item": "almonds", "price": 12, "quantity": 2}, {"_id": 2, "item": "pecans", "price": 20, "quantity": 1},
          {"_id": 3}]
INVENTORY = [{"_id": 1, "sku": "almonds", "description": "product 1", "instock": 120},
             {"_id": 2, "sku": "bread", "description": "product 2", "instock": 80},
             {"_id": 3, "sku": "cashews", "description": "product 3", "instock": 60},
             {"_id": 4, "sku": "pecans", "description": "product 4", "instock": 70},
             {"_id": 5, "sku": None, "description": "Incomplete"}, {"_id": 6}]


def test_lookup_equality_match() -> None:
    """$lookup: "Perform a Single Equality Join" (an order without item joins the null and missing skus)."""
    found = aggregate(ORDERS, [{"$lookup": {"from": "experiments", "localField": "item", "foreignField": "sku",
                                            "as": "inventory_docs"}}], experiments=INVENTORY)
    assert found == [
        {**ORDERS[0], "inventory_docs": [INVENTORY[0]]}, {**ORDERS[1], "inventory_docs": [INVENTORY[3]]},
        {"_id": 3, "inventory_docs": [INVENTORY[4], INVENTORY[5]]}]


def test_cond_and_if_null() -> None:
    """$cond (both forms) and $ifNull, with the manual's inventory."""
    inventory = [{"_id": 1, "item": "abc1", "qty": 300}, {"_id": 2, "item": "abc2", "qty": 200},
                 {"_id": 3, "item": "xyz1", "qty": 250}]
    named = aggregate(inventory, [{"$project": {"item": 1, "discount": {
        "$cond": {"if": {"$gte": ["$qty", 250]}, "then": 30, "else": 20}}}}])
    listed = aggregate(inventory, [{"$project": {"item": 1, "discount": {"$cond": [{"$gte": ["$qty", 250]}, 30, 20]}}}])
    assert named == listed == [{"_id": 1, "item": "abc1", "discount": 30}, {"_id": 2, "item": "abc2", "discount": 20},
                               {"_id": 3, "item": "xyz1", "discount": 30}]
    described = [{"_id": 1, "item": "buggy", "description": "toy car", "quantity": 300},
                 {"_id": 2, "item": "bicycle", "description": None, "quantity": 200}, {"_id": 3, "item": "flag"}]
    assert aggregate(described, [{"$project": {"item": 1, "description": {"$ifNull": ["$description", "Unspecified"]}}}]) == [
        {"_id": 1, "item": "buggy", "description": "toy car"}, {"_id": 2, "item": "bicycle", "description": "Unspecified"},
        {"_id": 3, "item": "flag", "description": "Unspecified"}]


def test_filter() -> None:
    """$filter: the items priced at 100 or more."""
    sales = [
        {"_id": 0, "items": [{"item_id": 43, "quantity": 2, "price": 10}, {"item_id": 2, "quantity": 1, "price": 240}]},
        {"_id": 1, "items": [{"item_id": 23, "quantity": 3, "price": 110}, {"item_id": 103, "quantity": 4, "price": 5},
                             {"item_id": 38, "quantity": 1, "price": 300}]},
        {"_id": 2, "items": [{"item_id": 4, "quantity": 1, "price": 23}]}]
    found = aggregate(sales, [{"$project": {"items": {"$filter": {"input": "$items", "as": "item",
                                                                  "cond": {"$gte": ["$$item.price", 100]}}}}}])
    assert found == [{"_id": 0, "items": [{"item_id": 2, "quantity": 1, "price": 240}]},
                     {"_id": 1, "items": [{"item_id": 23, "quantity": 3, "price": 110},
                                          {"item_id": 38, "quantity": 1, "price": 300}]},
                     {"_id": 2, "items": []}]


@pytest.mark.parametrize("place, expected", [(1, [19.2, 28.7, 34.3, -45.4]), (-1, [20.0, 30.0, 30.0, -50.0]),
                                             (0, [19.0, 29.0, 34.0, -45.0])])
def test_round(place: int, expected: list[float]) -> None:
    """$round: to one decimal place, to the tens, to a whole number (half to even: 19.25 -> 19.2)."""
    samples = [{"_id": 1, "value": 19.25}, {"_id": 2, "value": 28.73}, {"_id": 3, "value": 34.32},
               {"_id": 4, "value": -45.39}]
    found = aggregate(samples, [{"$project": {"roundedValue": {"$round": ["$value", place]}}}])
    assert [document["roundedValue"] for document in found] == expected


def test_std_dev_pop() -> None:
    """$stdDevPop: the standard deviation of each quiz's scores."""
    users = [{"_id": 1, "name": "dave123", "quiz": 1, "score": 85}, {"_id": 2, "name": "dave2", "quiz": 1, "score": 90},
             {"_id": 3, "name": "ahn", "quiz": 1, "score": 71}, {"_id": 4, "name": "li", "quiz": 2, "score": 96},
             {"_id": 5, "name": "annT", "quiz": 2, "score": 77}, {"_id": 6, "name": "ty", "quiz": 2, "score": 82}]
    found = aggregate(users, [{"$group": {"_id": "$quiz", "stdDev": {"$stdDevPop": "$score"}}}])
    assert [(group["_id"], group["stdDev"]) for group in by_id(found)] == \
        [(1, pytest.approx(8.04155872120988)), (2, pytest.approx(8.04155872120988))]


def test_concat_and_strings() -> None:
    """$concat (null when an argument is null or missing), $toUpper, $substrCP, $strLenCP, $split."""
    inventory = [{"_id": 1, "item": "ABC1", "quarter": "13Q1", "description": "product 1"},
                 {"_id": 2, "item": "ABC2", "quarter": "13Q4", "description": "product 2"},
                 {"_id": 3, "item": "XYZ1", "quarter": "14Q2", "description": None}]
    found = aggregate(inventory, [{"$project": {"itemDescription": {"$concat": ["$item", " - ", "$description"]},
                                                "yearSubstring": {"$substrCP": ["$quarter", 0, 2]},
                                                "quarterSubtring": {"$substrCP": ["$quarter", 2, {"$subtract": [
                                                    {"$strLenCP": "$quarter"}, 2]}]}}}])
    assert found == [{"_id": 1, "itemDescription": "ABC1 - product 1", "yearSubstring": "13", "quarterSubtring": "Q1"},
                     {"_id": 2, "itemDescription": "ABC2 - product 2", "yearSubstring": "13", "quarterSubtring": "Q4"},
                     {"_id": 3, "itemDescription": None, "yearSubstring": "14", "quarterSubtring": "Q2"}]
    assert aggregate([{"_id": 1, "city": "Berkeley, CA", "qty": 648}],
                     [{"$project": {"city_state": {"$split": ["$city", ", "]}, "qty": 1}}]) == \
        [{"_id": 1, "city_state": ["Berkeley", "CA"], "qty": 648}]


def test_add_fields_into_an_embedded_document_and_unset() -> None:
    """$addFields: "Adding Fields to an Embedded Document" merges; $unset removes top-level and embedded fields."""
    vehicles = [{"_id": 1, "type": "car", "specs": {"doors": 4, "wheels": 4}},
                {"_id": 2, "type": "motorcycle", "specs": {"doors": 0, "wheels": 2}},
                {"_id": 3, "type": "jet ski"}]
    assert aggregate(vehicles, [{"$addFields": {"specs.fuel_type": "unleaded"}}]) == [
        {"_id": 1, "type": "car", "specs": {"doors": 4, "wheels": 4, "fuel_type": "unleaded"}},
        {"_id": 2, "type": "motorcycle", "specs": {"doors": 0, "wheels": 2, "fuel_type": "unleaded"}},
        {"_id": 3, "type": "jet ski", "specs": {"fuel_type": "unleaded"}}]
    assert aggregate(vehicles, [{"$unset": ["type", "specs.doors"]}]) == [
        {"_id": 1, "specs": {"wheels": 4}}, {"_id": 2, "specs": {"wheels": 2}}, {"_id": 3}]


def test_bucket_and_facet() -> None:
    """$bucket with a default bucket and output accumulators, inside a $facet next to $sortByCount."""
    artworks = [{"_id": 1, "title": "The Pillars of Society", "year": 1926, "price": 199.99, "tags": ["painting", "satire"]},
                {"_id": 2, "title": "Melancholy III", "year": 1902, "price": 280.00, "tags": ["woodcut", "landscape"]},
                {"_id": 3, "title": "Dancer", "year": 1925, "price": 76.04, "tags": ["oil", "painting"]},
                {"_id": 4, "title": "The Great Wave off Kanagawa", "price": 167.30, "tags": ["woodblock", "ocean"]},
                {"_id": 5, "title": "The Persistence of Memory", "year": 1931, "price": 483.00, "tags": ["painting", "oil"]},
                {"_id": 6, "title": "Composition VII", "year": 1913, "price": 385.00, "tags": ["oil", "abstract"]},
                {"_id": 7, "title": "The Scream", "year": 1893, "tags": ["expressionism", "painting", "oil"]},
                {"_id": 8, "title": "Blue Flower", "year": 1918, "price": 118.42, "tags": ["abstract", "painting"]}]
    found = aggregate(artworks, [{"$facet": {
        "categorizedByTags": [{"$unwind": "$tags"}, {"$sortByCount": "$tags"}, {"$limit": 2}],
        "categorizedByPrice": [{"$match": {"price": {"$exists": 1}}},
                               {"$bucket": {"groupBy": "$price", "boundaries": [0, 150, 200, 300, 400],
                                            "default": "Other", "output": {"count": {"$sum": 1},
                                                                           "titles": {"$push": "$title"}}}}]}}])
    assert found == [{
        "categorizedByTags": [{"_id": "painting", "count": 5}, {"_id": "oil", "count": 4}],
        "categorizedByPrice": [
            {"_id": 0, "count": 2, "titles": ["Dancer", "Blue Flower"]},
            {"_id": 150, "count": 2, "titles": ["The Pillars of Society", "The Great Wave off Kanagawa"]},
            {"_id": 200, "count": 1, "titles": ["Melancholy III"]},
            {"_id": 300, "count": 1, "titles": ["Composition VII"]},
            {"_id": "Other", "count": 1, "titles": ["The Persistence of Memory"]}]}]
