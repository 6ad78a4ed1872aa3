"""The price table a plan's cost comes from: `--prices FILE`.

No price table ships with the planner. Alibaba Cloud's GPU prices are per region, change, and are
published only on the console's buy pages and the JavaScript pricing calculator, none of which
could be read here; a table typed in from memory would put a made-up cost in every plan. So a plan
always reports GPU-hours and instance-hours per stack, and a cost only from a table the team
writes from its own bill or the calculator, with the date and source in the file:

    {"date": "2026-11-20", "source": "console buy page, cn-beijing", "currency": "CNY",
     "payAsYouGoPerHour": {"ecs.gn6i-c4g1.xlarge": 0.0}, "spotDiscount": 0.7}

ECI bills a pod created for an ECS type at that type's price per second (ECI billing, "by ECS
instance type": https://help.aliyun.com/zh/eci/product-overview/elastic-container-instances), so
one table prices both modes. `spotDiscount` (optional) is how much cheaper spot is, 0-1.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from config.errors import ConfigError
from config.yaml_files import read_yaml


class PriceTable(BaseModel):
    """What a `--prices` file holds."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    date: dt.date
    source: Annotated[str, Field(min_length=3)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    pay_as_you_go_per_hour: Annotated[dict[str, Annotated[float, Field(ge=0)]], Field(alias="payAsYouGoPerHour",
                                                                                       min_length=1)]
    spot_discount: Annotated[Optional[float], Field(alias="spotDiscount", ge=0, lt=1)] = None

    def hourly(self, instance_type: str) -> Optional[float]:
        return self.pay_as_you_go_per_hour.get(instance_type)


def load(path: Path) -> PriceTable:
    """Read and check a price file (JSON or YAML); a bad one names the file and the key."""
    try:
        data = read_yaml(path)
        return PriceTable.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([(f"{path}: {'.'.join(str(p) for p in err['loc']) or '(top level)'}",
                            err["msg"]) for err in exc.errors()]) from None
    except OSError as exc:
        raise ConfigError([(str(path), f"cannot be read ({exc.strerror})")]) from None
