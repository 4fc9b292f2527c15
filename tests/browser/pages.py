"""Where things are on the seller's pages: the addresses and button names the journeys use, in one place."""

from __future__ import annotations

ORDER_LIST = "/admin/orders/order/"
PRODUCT_LIST = "/admin/catalogue/product/"
PRODUCT_ADD = "/admin/catalogue/product/create/"
PRODUCT_UPLOAD = "/admin/catalogue/product/upload/"
STORE_ADD = "/admin/stores/store/add/"
DASHBOARD = "/admin/"
DASHBOARD_API = "/api/dashboard/"


def order_page(order) -> str:
    return f"/admin/orders/order/{order.pk}/change/"


def store_page(store) -> str:
    return f"/admin/stores/store/{store.pk}/change/"


def product_page(product) -> str:
    return f"/admin/catalogue/product/{product.pk}/change/"


# the order page's buttons (django-unfold actions_detail): address ending, then the confirming button's name
ACCEPT = ("accept", "Accept on FNAC")
REFUSE = ("refuse", "Refuse on FNAC")
READY_TO_SHIP = ("ready-to-ship", "Ship")
CANCEL = ("cancel", "Cancel the order on FNAC")
PRINT_LABEL = "print-label"


def open_order_button(ui, order, button: str):
    """On the order page, click the button whose address ends with ``/<button>/``."""
    ui.go(order_page(order))
    ui.click_link(f"/order/{order.pk}/{button}/")


def order_action(ui, order, action: tuple[str, str], fields: dict | None = None, *, step: str = "",
                 screen: str | None = None):
    """Order page → button → its confirmation page (fill ``fields``) → confirm."""
    path, confirm = action
    open_order_button(ui, order, path)
    if fields:
        ui.fill(fields)
    if step:
        ui.step(step, screen=screen)
    ui.submit(confirm, exact=True)
