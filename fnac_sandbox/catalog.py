"""Static reference data of the sandbox: the FNAC-like category tree, Mirakl attributes and value lists,
the carriers of carriers_query, and the words the seeder builds product names from."""

from __future__ import annotations

# (code, label, parent_code) -- level is computed. Leaves are the categories products can be created in.
HIERARCHIES: list[tuple[str, str, str]] = [
    ("INFORMATIQUE", "Informatique", ""),
    ("INFO_PORTABLES", "Ordinateurs portables", "INFORMATIQUE"),
    ("INFO_TABLETTES", "Tablettes tactiles", "INFORMATIQUE"),
    ("INFO_PERIPHERIQUES", "Périphériques", "INFORMATIQUE"),
    ("INFO_CLAVIERS", "Claviers", "INFO_PERIPHERIQUES"),
    ("INFO_SOURIS", "Souris", "INFO_PERIPHERIQUES"),
    ("TELEPHONIE", "Téléphonie", ""),
    ("TEL_SMARTPHONES", "Smartphones", "TELEPHONIE"),
    ("TEL_ACCESSOIRES", "Accessoires téléphone", "TELEPHONIE"),
    ("TEL_COQUES", "Coques et étuis", "TEL_ACCESSOIRES"),
    ("TEL_CHARGEURS", "Chargeurs et câbles", "TEL_ACCESSOIRES"),
    ("LIVRES", "Livres", ""),
    ("LIV_ROMANS", "Romans", "LIVRES"),
    ("LIV_BD", "Bandes dessinées", "LIVRES"),
    ("LIV_JEUNESSE", "Livres jeunesse", "LIVRES"),
    ("JEUX_VIDEO", "Jeux vidéo", ""),
    ("JV_CONSOLES", "Consoles", "JEUX_VIDEO"),
    ("JV_JEUX", "Jeux", "JEUX_VIDEO"),
    ("ELECTROMENAGER", "Électroménager", ""),
    ("EM_CUISINE", "Préparation culinaire", "ELECTROMENAGER"),
    ("EM_CAFE", "Machines à café", "EM_CUISINE"),
    ("EM_ROBOTS", "Robots cuiseurs", "EM_CUISINE"),
    ("EM_ENTRETIEN", "Entretien de la maison", "ELECTROMENAGER"),
    ("EM_ASPIRATEURS", "Aspirateurs", "EM_ENTRETIEN"),
    ("TV_SON", "TV, Son", ""),
    ("TV_TELEVISEURS", "Téléviseurs", "TV_SON"),
    ("SON_CASQUES", "Casques audio", "TV_SON"),
    ("SON_ENCEINTES", "Enceintes Bluetooth", "TV_SON"),
]

_PARENT = {code: parent for code, _label, parent in HIERARCHIES}


def level_of(code: str) -> int:
    level = 1
    while _PARENT.get(code):
        code = _PARENT[code]
        level += 1
    return level


def ancestors(code: str) -> list[str]:
    """The code itself then its parents up to the root."""
    out = []
    while code:
        out.append(code)
        code = _PARENT.get(code, "")
    return out


LEAVES = [code for code, _l, _p in HIERARCHIES if code not in {p for _c, _l2, p in HIERARCHIES}]


def _values(*labels: str) -> list[dict]:
    out = []
    for label in labels:
        code = (
            label.upper()
            .replace(" ", "_")
            .replace("'", "")
            .replace("É", "E")
            .replace("È", "E")
            .replace("&", "AND")
            .replace(".", "_")
            .replace("+", "PLUS")
            .replace(",", "_")
        )
        out.append({"code": code, "label": label})
    return out


BRANDS = [
    "Apple",
    "Samsung",
    "Sony",
    "HP",
    "Lenovo",
    "Asus",
    "Acer",
    "Dell",
    "Microsoft",
    "Xiaomi",
    "Google",
    "Philips",
    "Bosch",
    "Seb",
    "Moulinex",
    "Rowenta",
    "Dyson",
    "Krups",
    "De'Longhi",
    "Nespresso",
    "LG",
    "Panasonic",
    "Bose",
    "JBL",
    "Sennheiser",
    "Logitech",
    "Nintendo",
    "Ubisoft",
    "Gallimard",
    "Folio",
    "Hachette",
    "Casterman",
    "Dargaud",
    "Belkin",
    "Anker",
]

VALUES_LISTS: list[dict] = [
    {"code": "brands", "label": "Marques", "values": _values(*BRANDS)},
    {
        "code": "colors",
        "label": "Couleurs",
        "values": _values("Noir", "Blanc", "Gris", "Argent", "Bleu", "Rouge", "Vert", "Rose", "Or", "Violet"),
    },
    {
        "code": "screen_sizes",
        "label": "Tailles d'écran",
        "values": _values(
            "11 pouces",
            "13 pouces",
            "14 pouces",
            "15.6 pouces",
            "17 pouces",
            "43 pouces",
            "55 pouces",
            "65 pouces",
            "75 pouces",
        ),
    },
    {
        "code": "ram_sizes",
        "label": "Mémoire vive",
        "values": _values("4 Go", "8 Go", "16 Go", "32 Go", "64 Go"),
    },
    {
        "code": "storage_capacities",
        "label": "Capacité de stockage",
        "values": _values("64 Go", "128 Go", "256 Go", "512 Go", "1 To", "2 To"),
    },
    {
        "code": "operating_systems",
        "label": "Systèmes d'exploitation",
        "values": _values("Windows 11", "macOS", "ChromeOS", "Linux", "Android", "iOS", "iPadOS"),
    },
    {
        "code": "languages",
        "label": "Langues",
        "values": _values("Français", "Anglais", "Espagnol", "Allemand", "Italien"),
    },
    {"code": "book_formats", "label": "Formats", "values": _values("Broché", "Relié", "Poche", "Album")},
    {
        "code": "platforms",
        "label": "Plateformes",
        "values": _values("PS5", "PS4", "Xbox Series X", "Xbox One", "Nintendo Switch", "PC"),
    },
    {"code": "pegi", "label": "PEGI", "values": _values("PEGI 3", "PEGI 7", "PEGI 12", "PEGI 16", "PEGI 18")},
    {
        "code": "energy_classes",
        "label": "Classes énergétiques",
        "values": _values("A", "B", "C", "D", "E", "F", "G"),
    },
    {
        "code": "connection_types",
        "label": "Connectique",
        "values": _values("Bluetooth", "Filaire jack 3.5 mm", "USB-C", "Lightning", "Sans fil 2.4 GHz"),
    },
]

VALUES_BY_LIST = {vl["code"]: vl for vl in VALUES_LISTS}


def _attr(code, label, type_, hierarchy="", required=False, values_list=None, description="", variant=False):
    return {
        "code": code,
        "label": label,
        "type": type_,
        "hierarchy_code": hierarchy,
        "required": required,
        "values_list": values_list,
        "variant": variant,
        "description": description,
        "type_parameters": [],
        "default_value": None,
    }


ATTRIBUTES: list[dict] = [
    # common to every category (hierarchy_code "")
    _attr(
        "category",
        "Catégorie",
        "HIERARCHY",
        required=True,
        description="Code of a leaf hierarchy (H11) the product belongs to",
    ),
    _attr("ean", "EAN", "TEXT", required=True, description="EAN-13 (13 digits, valid check digit)"),
    _attr("title", "Titre", "TEXT", required=True, description="Product title, at most 200 characters"),
    _attr("brand", "Marque", "LIST", required=True, values_list="brands"),
    _attr("description", "Description", "LONG_TEXT", description="At most 4000 characters"),
    _attr("main_image", "Image principale", "MEDIA", description="URL of a jpg/png image"),
    _attr("weight_kg", "Poids (kg)", "DECIMAL"),
    # per category (inherited by sub-categories)
    _attr(
        "operating_system", "Système d'exploitation", "LIST", "INFORMATIQUE", values_list="operating_systems"
    ),
    _attr("screen_size", "Taille d'écran", "LIST", "INFO_PORTABLES", True, "screen_sizes"),
    _attr("ram", "Mémoire vive", "LIST", "INFO_PORTABLES", True, "ram_sizes"),
    _attr("storage_capacity", "Stockage", "LIST", "INFO_PORTABLES", False, "storage_capacities"),
    _attr("processor", "Processeur", "TEXT", "INFO_PORTABLES"),
    _attr("storage_capacity", "Stockage", "LIST", "INFO_TABLETTES", True, "storage_capacities"),
    _attr("connection", "Connectique", "LIST", "INFO_PERIPHERIQUES", True, "connection_types"),
    _attr("color", "Couleur", "LIST", "TELEPHONIE", False, "colors", variant=True),
    _attr(
        "storage_capacity", "Stockage", "LIST", "TEL_SMARTPHONES", True, "storage_capacities", variant=True
    ),
    _attr("operating_system", "Système d'exploitation", "LIST", "TEL_SMARTPHONES", True, "operating_systems"),
    _attr("compatible_model", "Modèle compatible", "TEXT", "TEL_COQUES", True),
    _attr("author", "Auteur", "TEXT", "LIVRES", True),
    _attr("publisher", "Éditeur", "TEXT", "LIVRES"),
    _attr("language", "Langue", "LIST", "LIVRES", True, "languages"),
    _attr("book_format", "Format", "LIST", "LIVRES", False, "book_formats"),
    _attr("pages", "Nombre de pages", "INTEGER", "LIVRES"),
    _attr("platform", "Plateforme", "LIST", "JEUX_VIDEO", True, "platforms"),
    _attr("pegi", "Classification PEGI", "LIST", "JV_JEUX", True, "pegi"),
    _attr("power_watts", "Puissance (W)", "INTEGER", "ELECTROMENAGER"),
    _attr("energy_class", "Classe énergétique", "LIST", "EM_ASPIRATEURS", True, "energy_classes"),
    _attr("screen_size", "Taille d'écran", "LIST", "TV_TELEVISEURS", True, "screen_sizes"),
    _attr("energy_class", "Classe énergétique", "LIST", "TV_TELEVISEURS", True, "energy_classes"),
    _attr("connection", "Connectique", "LIST", "SON_CASQUES", True, "connection_types"),
    _attr("color", "Couleur", "LIST", "TV_SON", False, "colors"),
]


def attributes_for(hierarchy: str | None) -> list[dict]:
    """PM11: every attribute when no hierarchy is given, else the common ones plus those of the hierarchy
    and its parents (Mirakl's inheritance)."""
    if not hierarchy:
        return [dict(a) for a in ATTRIBUTES]
    codes = set(ancestors(hierarchy)) | {""}
    return [dict(a) for a in ATTRIBUTES if a["hierarchy_code"] in codes]


# carriers_query as FNAC's sandbox answered it (recorded by fnapy, tests/assets/query_carriers_response.xml):
# these nine codes, each global="1", names as FNAC spells them. tracking_company takes any text all the same
# (recorded: "Track Inc." accepted), so this list is what FNAC offers, not what it enforces.
CARRIERS: list[tuple[str, str]] = [
    ("CHRONOPOST", "Chronopost"),
    ("DHL", "DHL"),
    ("FEDEX", "Fedex"),
    ("GLS", "GLS"),
    ("LAPOSTE", "La Poste"),
    ("SOCOLISSIMO", "SoColissimo"),
    ("TAT", "TAT Express"),
    ("TNT", "TNT"),
    ("UPS", "UPS"),
]

# Words the seeder builds offers from: (leaf category, nouns, brands, price range)
PRODUCT_FAMILIES: list[tuple[str, list[str], list[str], tuple[int, int]]] = [
    (
        "INFO_PORTABLES",
        ["PC portable", "Ultrabook", "MacBook"],
        ["HP", "Lenovo", "Asus", "Acer", "Dell", "Apple"],
        (299, 2499),
    ),
    ("INFO_TABLETTES", ["Tablette", "iPad"], ["Apple", "Samsung", "Lenovo", "Xiaomi"], (129, 1299)),
    ("INFO_CLAVIERS", ["Clavier sans fil", "Clavier mécanique"], ["Logitech", "Microsoft"], (19, 179)),
    ("INFO_SOURIS", ["Souris sans fil", "Souris gamer"], ["Logitech", "Microsoft"], (9, 129)),
    (
        "TEL_SMARTPHONES",
        ["Smartphone", "iPhone", "Galaxy"],
        ["Apple", "Samsung", "Xiaomi", "Google"],
        (149, 1599),
    ),
    ("TEL_COQUES", ["Coque", "Étui folio"], ["Belkin", "Samsung", "Apple"], (5, 59)),
    (
        "TEL_CHARGEURS",
        ["Chargeur USB-C", "Câble Lightning", "Batterie externe"],
        ["Anker", "Belkin", "Apple"],
        (9, 89),
    ),
    ("LIV_ROMANS", ["Roman", "Récit", "Polar"], ["Gallimard", "Folio", "Hachette"], (5, 25)),
    ("LIV_BD", ["Bande dessinée", "Album BD", "Manga"], ["Casterman", "Dargaud"], (8, 35)),
    ("LIV_JEUNESSE", ["Album jeunesse", "Conte illustré"], ["Gallimard", "Hachette"], (6, 22)),
    ("JV_CONSOLES", ["Console", "Pack console"], ["Sony", "Microsoft", "Nintendo"], (249, 599)),
    ("JV_JEUX", ["Jeu vidéo"], ["Nintendo", "Ubisoft", "Sony"], (19, 79)),
    (
        "EM_CAFE",
        ["Machine à café", "Expresso broyeur", "Cafetière"],
        ["Krups", "De'Longhi", "Nespresso", "Philips"],
        (49, 899),
    ),
    ("EM_ROBOTS", ["Robot cuiseur", "Robot pâtissier", "Blender"], ["Moulinex", "Seb", "Bosch"], (39, 1199)),
    (
        "EM_ASPIRATEURS",
        ["Aspirateur balai", "Aspirateur robot", "Aspirateur traîneau"],
        ["Dyson", "Rowenta", "Bosch", "Philips"],
        (79, 799),
    ),
    (
        "TV_TELEVISEURS",
        ["TV OLED", "TV QLED", "TV LED"],
        ["Samsung", "LG", "Sony", "Philips", "Panasonic"],
        (299, 3499),
    ),
    (
        "SON_CASQUES",
        ["Casque sans fil", "Écouteurs true wireless", "Casque à réduction de bruit"],
        ["Sony", "Bose", "Sennheiser", "JBL", "Apple"],
        (19, 449),
    ),
    ("SON_ENCEINTES", ["Enceinte Bluetooth", "Enceinte portable"], ["JBL", "Bose", "Sony"], (29, 399)),
]

MODEL_WORDS = [
    "Pro",
    "Max",
    "Air",
    "Lite",
    "Plus",
    "Ultra",
    "S",
    "X",
    "Neo",
    "Edge",
    "One",
    "Go",
    "Mini",
    "Prime",
]

FIRST_NAMES = [
    "Marie",
    "Jean",
    "Camille",
    "Lucas",
    "Léa",
    "Hugo",
    "Chloé",
    "Louis",
    "Manon",
    "Gabriel",
    "Inès",
    "Arthur",
    "Zoé",
    "Jules",
    "Sarah",
    "Nathan",
    "Émilie",
    "Thomas",
    "Julie",
    "Nicolas",
    "Océane",
    "Antoine",
    "Clara",
    "Mathis",
    "Élodie",
    "Raphaël",
    "Anaïs",
    "Théo",
    "Pauline",
    "Maxime",
]
LAST_NAMES = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Lefebvre",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
]
STREETS = [
    "rue de la République",
    "avenue Jean Jaurès",
    "boulevard Victor Hugo",
    "rue Pasteur",
    "place de la Mairie",
    "rue des Lilas",
    "allée des Tilleuls",
    "rue du Général de Gaulle",
    "chemin des Vignes",
    "avenue de la Gare",
    "rue Nationale",
    "impasse des Roses",
    "quai de la Loire",
    "rue Saint-Michel",
]
CITIES = [
    ("75011", "Paris"),
    ("69003", "Lyon"),
    ("13008", "Marseille"),
    ("31000", "Toulouse"),
    ("06000", "Nice"),
    ("44000", "Nantes"),
    ("67000", "Strasbourg"),
    ("34000", "Montpellier"),
    ("33000", "Bordeaux"),
    ("59000", "Lille"),
    ("35000", "Rennes"),
    ("51100", "Reims"),
    ("76600", "Le Havre"),
    ("42000", "Saint-Étienne"),
    ("83000", "Toulon"),
    ("38000", "Grenoble"),
    ("21000", "Dijon"),
    ("49000", "Angers"),
    ("37000", "Tours"),
    ("63000", "Clermont-Ferrand"),
    ("29200", "Brest"),
    ("87000", "Limoges"),
    ("64000", "Pau"),
    ("74000", "Annecy"),
]
