from tests.carriers.carrier_http import carrier_web  # noqa: F401  (the fake carrier web, for karrio's urllib)
