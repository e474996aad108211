"""The real data set: a UK online shop's invoice lines ("Online Retail", D. Chen, UCI Machine
Learning Repository, CC BY 4.0), as purchase interactions and a product catalogue.

Cleaning follows the data set's README: sales lines only (no `C` cancellations, no `A`
adjustments, positive quantity), known customers only, real products only (postage, fees,
manual lines, vouchers and the like left out), stock codes compared without letter case.

The file travels with the repository (`datasets/online_retail.csv.gz`), not with the package:
an installed Pertinent is told where it is (`--retail-file`, `PERTINENT_RETAIL_FILE`), or
finds it in the `datasets/` folder of the directory it runs in (a clone's root).
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pertinent.errors import InputError
from pertinent.recommend.interactions import Interaction

FILE_NAME = "online_retail.csv.gz"
ENV_VAR = "PERTINENT_RETAIL_FILE"
CUTOFF = datetime(2011, 9, 1, tzinfo=UTC)
_NOT_PRODUCTS = {
    "POST",
    "DOT",
    "M",
    "C2",
    "D",
    "S",
    "BANK CHARGES",
    "AMAZONFEE",
    "CRUK",
    "PADS",
    "B",
}


def is_product(code: str) -> bool:
    return not (code in _NOT_PRODUCTS or code.startswith(("GIFT_", "DCGS")))


@dataclass(frozen=True)
class RetailProduct:
    item_id: str
    title: str
    price: float


def find_retail_file(explicit: Path | None, here: Path) -> Path:
    """The data set's path: `explicit` when given (it must exist), else `datasets/` under
    `here` (the working directory; a clone's root has it). Never a guess relative to where the
    package is installed."""
    hint = (
        f"pass --retail-file PATH to {FILE_NAME} (or set {ENV_VAR}); a clone of Pertinent "
        f"carries it in datasets/{FILE_NAME}"
    )
    if explicit is not None:
        if not explicit.is_file():
            raise InputError("the Online Retail data set is not there", where=str(explicit))
        return explicit
    found = here / "datasets" / FILE_NAME
    if not found.is_file():
        raise InputError(
            f"the Online Retail data set is not in {here / 'datasets'}",
            where="--retail-file",
            hint=hint,
        )
    return found


def load_retail(
    path: Path, *, limit_customers: int | None = None
) -> tuple[list[Interaction], dict[str, RetailProduct]]:
    """Purchase interactions and products; `limit_customers` keeps the lowest customer ids."""
    interactions: list[Interaction] = []
    products: dict[str, RetailProduct] = {}
    if not path.is_file():
        raise InputError(
            "the Online Retail data set is not there",
            where=str(path),
            hint=f"pass --retail-file PATH to {FILE_NAME}",
        )
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            invoice, customer = row["InvoiceNo"], row["CustomerID"]
            code = row["StockCode"].strip().upper()
            if (
                not customer
                or invoice.startswith(("C", "A"))
                or int(row["Quantity"]) <= 0
                or not is_product(code)
            ):
                continue
            if limit_customers is not None and int(customer) >= 12346 + limit_customers:
                continue
            at = datetime.fromisoformat(row["InvoiceDate"]).replace(tzinfo=UTC)
            interactions.append(Interaction(customer, code, "ordered", at))
            if code not in products:
                products[code] = RetailProduct(
                    code, row["Description"].strip().title(), float(row["UnitPrice"])
                )
    return interactions, products
