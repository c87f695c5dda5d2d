"""Mention, negation and uncertainty rules for the finding labeller, in English and Chinese.

The observation names are the 14 CheXpert labels. The mention lists follow the CheXpert
labeller's phrase lists in spirit (Irvin et al., AAAI 2019), written afresh for this project
and extended for IU X-ray wording. English patterns are matched on lower-cased text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NO_FINDING = "No Finding"
SUPPORT_DEVICES = "Support Devices"

OBSERVATIONS = (
    NO_FINDING,
    "Enlarged Cardiomediastinum",
    "Cardiomegaly",
    "Lung Opacity",
    "Lung Lesion",
    "Edema",
    "Consolidation",
    "Pneumonia",
    "Atelectasis",
    "Pneumothorax",
    "Pleural Effusion",
    "Pleural Other",
    "Fracture",
    SUPPORT_DEVICES,
)

# Observations that have a side. Laterality is not reported for the others.
LATERAL_OBSERVATIONS = frozenset(
    {
        "Lung Opacity",
        "Lung Lesion",
        "Edema",
        "Consolidation",
        "Pneumonia",
        "Atelectasis",
        "Pneumothorax",
        "Pleural Effusion",
        "Pleural Other",
        "Fracture",
        SUPPORT_DEVICES,
    }
)


@dataclass(frozen=True)
class RuleSet:
    """Compiled rules for one language.

    `mentions` maps an observation to the pattern of its mentions. `normal_statements` maps an
    observation to patterns of sentences that state the structure is normal ("heart size is
    normal"), which count as a negative finding. Cue patterns mark negation or uncertainty,
    either before the mention (`pre_*`) or after it (`post_*`). `terminators` end the scope
    of a cue inside a sentence.
    """

    mentions: dict[str, re.Pattern[str]]
    normal_statements: dict[str, re.Pattern[str]]
    pre_negation: re.Pattern[str]
    post_negation: re.Pattern[str]
    pre_uncertainty: re.Pattern[str]
    post_uncertainty: re.Pattern[str]
    terminators: re.Pattern[str]
    left: re.Pattern[str]
    right: re.Pattern[str]
    bilateral: re.Pattern[str]
    # Separators between items of a list ("effusion, pneumothorax or edema"): laterality is read
    # from the list item that contains the mention.
    item_separators: re.Pattern[str]


def _words(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b")


def _plain(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(alternatives))


_EN_MENTIONS = {
    "Enlarged Cardiomediastinum": _words(
        r"(?:widen(?:ed|ing)|enlarged|prominent) (?:superior )?mediastin\w*",
        r"mediastin\w* (?:widening|enlargement)",
        r"enlarged cardiomediastinal (?:silhouette|contours?)",
        r"cardiomediastinal (?:silhouette|contours?) (?:is |are )?(?:\w+ )?(?:enlarged|widened|prominent)",
        r"mediastinum (?:is |appears )?(?:\w+ )?(?:widened|enlarged)",
        r"widening of the mediastinum",
    ),
    "Cardiomegaly": _words(
        r"cardiomegaly",
        r"(?:heart|cardiac silhouette|cardiac shadow|heart size|cardiac size) (?:is |are |appears |remains )?"
        r"(?:\w+ )?(?:enlarged|increased)",
        r"(?:enlarged|large) (?:heart|cardiac silhouette|cardiac shadow)",
        r"(?:cardiac|heart) enlargement",
        r"enlargement of the (?:heart|cardiac silhouette)",
        r"(?:heart size|cardiac silhouette) (?:is )?(?:at the )?upper limits? of normal",
    ),
    "Lung Opacity": _words(
        r"opaci(?:ty|ties|fication|fications)",
        r"infiltrat(?:e|es|ion|ive)",
        r"air[- ]?space (?:disease|process)",
        r"densit(?:y|ies)",
        r"interstitial (?:markings?|pattern|prominence|opacit\w+|thickening)",
        r"reticular (?:markings?|pattern|opacit\w+)",
        r"reticulation",
        r"hazy|haziness",
        r"(?:parenchymal )?scar(?:ring)?",
        r"peribronchial (?:cuffing|thickening)",
    ),
    "Lung Lesion": _words(
        r"mass(?:es)?",
        r"nodul(?:e|es|ar)",
        r"lesions?",
        r"neoplasms?|tumou?rs?|carcinoma|malignan\w+|metasta\w+",
        r"cavitary",
    ),
    "Edema": _words(
        r"o?edema",
        r"(?:vascular|venous|pulmonary) congestion",
        r"heart failure|chf|fluid overload",
        r"cephalization",
        r"kerley",
    ),
    "Consolidation": _words(r"consolidat\w*"),
    # Old granulomatous infection is a healed process, not pneumonia.
    "Pneumonia": _words(r"pneumonias?", r"(?<!granulomatous )infect\w+", r"bronchopneumonia"),
    "Atelectasis": _words(r"atelecta\w+", r"collapse[ds]?", r"volume loss"),
    "Pneumothorax": _words(r"pneumothora(?:x|ces)", r"hydropneumothorax"),
    "Pleural Effusion": _words(r"effusions?", r"pleural fluid", r"hydrothorax", r"hydropneumothorax"),
    "Pleural Other": _words(
        r"pleural (?:thickening|plaques?|calcifications?|scarring|scar)",
        r"fibrothorax",
        r"pleural[- ]parenchymal scar\w*",
    ),
    "Fracture": _words(r"fractur\w*"),
    SUPPORT_DEVICES: _words(
        r"pacemakers?|pacers?|defibrillators?|aicd|icd",
        r"(?:central venous|venous|central|picc|port|dialysis|swan[- ]ganz|arterial|internal jugular) "
        r"(?:lines?|catheters?)",
        r"picc",
        r"catheters?",
        r"(?:endotracheal|et|nasogastric|ng|orogastric|og|chest|feeding|tracheostomy|enteric|gastrostomy|suction|"
        r"gastric) tubes?",
        r"(?:monitor|monitoring|ekg|ecg|cardiac monitor) leads|electrodes?",
        r"generator|stimulator|(?:embolization |embolism )?coils?|vertebroplasty|kyphoplasty",
        r"(?:electronic|medical|cardiac) device",
        r"prosthe(?:sis|tic valve)|valve prosthesis",
        r"tips? (?:projecting|projects|overl\w+|is|at|in|terminat\w+)",
        r"tracheostomy",
        r"port-?a-?cath|mediport|(?:chest|power) port",
        r"stents?",
        r"(?:sternotomy|sternal) wires?",
        r"(?:pacing|pacer|transvenous|pacemaker|icd|aicd) leads?",
        r"(?:surgical )?clips?",
        r"(?:prosthetic|mechanical) (?:valve|heart valve)",
        r"valve replacement",
        r"(?:surgical|orthopedic|spinal|fixation) (?:hardware|rods?|screws?|plates?)",
        r"hardware",
        r"drains?",
    ),
}

_EN_NORMAL = {
    "Cardiomegaly": _words(
        r"(?:heart|heart size|cardiac size|cardiac silhouette|cardiac contours?|cardiac shadow) (?:is |are |appears? |remains? )?"
        r"(?:\w+ )?(?:normal|within normal limits|unremarkable|not enlarged)",
        r"normal(?:-sized)? (?:heart|cardiac)(?: size| silhouette| contours?)?",
        r"normal-sized heart",
        r"heart (?:and mediastinum|and lungs) (?:are |is )?(?:normal|within normal limits|unremarkable)",
    ),
    "Enlarged Cardiomediastinum": _words(
        r"(?:mediastinum|mediastinal (?:contours?|silhouettes?)|cardiomediastinal (?:silhouettes?|contours?))"
        r" (?:is |are |appears? |remains? )?(?:\w+ )?(?:normal|within normal limits|unremarkable|not widened|stable)",
        r"(?:heart|cardiac) and mediastin\w+ (?:contours? |silhouettes? )?(?:are |is )?"
        r"(?:normal|within normal limits|unremarkable)",
        r"normal (?:cardio ?mediastinal|mediastinal) (?:silhouette|contours?)",
        r"normal mediastinum",
        r"heart size and mediastinal contours? (?:are |is )?normal",
    ),
}

EN_RULES = RuleSet(
    mentions=_EN_MENTIONS,
    normal_statements=_EN_NORMAL,
    pre_negation=_words(
        r"no",
        r"not",
        r"without",
        r"negative for",
        r"free of",
        r"clear of",
        r"absence of",
        r"no evidence of",
        r"resolution of",
        r"resolved",
        r"rule out",
        r"ruled out",
        r"nor",
        r"neither",
    ),
    post_negation=_words(
        r"(?:is|are|was|were) (?:not|no longer) (?:seen|present|identified|visualized|appreciated|evident|demonstrated)",
        r"(?:is|are|has|have) (?:resolved|cleared|absent)",
        r"not (?:seen|identified|present|evident|visualized)",
        r"(?:is|are) ruled out",
        r"resolved",
    ),
    pre_uncertainty=_words(
        r"may",
        r"might",
        r"possible",
        r"possibly",
        r"probable",
        r"probably",
        r"likely",
        r"questionable",
        r"question of",
        r"suspect(?:ed)?",
        r"suspicious (?:for|of)",
        r"concern(?:ing)? for",
        r"(?<!to )suggest(?:s|ed|ive of|ing)?",
        r"could (?:represent|be)",
        r"cannot (?:exclude|rule out|be excluded)",
        r"can not (?:exclude|rule out)",
        r"not (?:entirely )?(?:excluded|ruled out)",
        r"versus|vs",
        r"differential",
        r"consider(?:ed)?",
        r"borderline",
        r"equivocal",
    ),
    post_uncertainty=_words(
        r"(?:is|are|was|were) (?:not |)(?:entirely )?(?:excluded|ruled out)",
        r"(?:cannot|can not) be (?:entirely )?(?:excluded|ruled out)",
        r"(?:is|are) (?:possible|suspected|questioned|not excluded)",
        r"versus|vs",
        r"(?:or|and/or) (?:atelectasis|scarring|scar|pneumonia|infiltrate|consolidation|effusion)",
    ),
    terminators=_words(
        r"but",
        r"however",
        r"although",
        r"though",
        r"which",
        r"except",
        r"aside from",
        r"apart from",
        r"other than",
        r"with the exception of",
        r"there (?:is|are)",
        r"(?:the|and) (?:heart|lungs?|cardiac|mediastinum|hila|trachea)",
        r"otherwise",
        r"while",
        r"now",
    ),
    left=_words(r"left", r"lingula", r"lingular"),
    right=_words(r"right"),
    bilateral=_words(r"bilateral(?:ly)?", r"both", r"bibasilar", r"bibasal", r"biapical", r"bilaterally"),
    item_separators=re.compile(r",|;| and | with | or "),
)

ZH_RULES = RuleSet(
    mentions={
        "Enlarged Cardiomediastinum": _plain(r"纵隔(?:明显)?增宽", r"纵隔影?增大", r"心纵隔影?增大"),
        "Cardiomegaly": _plain(
            r"心影(?:轻度|中度|明显|稍|略)?增大",
            r"心脏(?:轻度|中度|明显|稍|略)?(?:增大|扩大)",
            r"心脏肥大",
            r"心影大小处于正常上限",
        ),
        "Lung Opacity": _plain(
            r"(?:模糊|斑片状?|条索状?|片状|网状|高密度|磨玻璃|结节状)影",
            r"阴影",
            r"浸润",
            r"密度增高",
            r"瘢痕",
            r"混浊",
        ),
        "Lung Lesion": _plain(r"结节", r"肿块", r"占位", r"肿瘤", r"病变", r"转移"),
        "Edema": _plain(r"水肿", r"淤血", r"心力衰竭", r"心衰"),
        "Consolidation": _plain(r"实变"),
        "Pneumonia": _plain(r"肺炎", r"感染"),
        "Atelectasis": _plain(r"肺不张", r"不张", r"萎陷"),
        "Pneumothorax": _plain(r"气胸"),
        "Pleural Effusion": _plain(r"胸腔积液", r"胸水", r"积液"),
        "Pleural Other": _plain(r"胸膜(?:增厚|斑块|钙化|瘢痕)"),
        "Fracture": _plain(r"骨折"),
        SUPPORT_DEVICES: _plain(
            r"起搏器",
            r"除颤器",
            r"导管",
            r"置管",
            r"引流管",
            r"气管插管",
            r"胃管",
            r"鼻胃管",
            r"输液港",
            r"支架",
            r"胸骨(?:切开)?(?:缝合)?钢丝",
            r"导线",
            r"(?:手术)?夹",
            r"人工瓣膜",
            r"内固定",
        ),
    },
    normal_statements={
        "Cardiomegaly": _plain(
            r"心影大小(?:及形态)?(?:正常|在正常范围内)", r"心脏大小(?:正常|在正常范围内)", r"心影未见增大"
        ),
        "Enlarged Cardiomediastinum": _plain(
            r"纵隔(?:轮廓)?(?:居中|正常|无增宽|未见增宽)", r"心纵隔轮廓正常"
        ),
    },
    pre_negation=_plain(r"未见", r"未发现", r"未显示", r"无", r"没有", r"不伴", r"排除", r"未"),
    post_negation=_plain(r"已(?:吸收|消失|消退)", r"未见显示"),
    pre_uncertainty=_plain(
        r"可能", r"考虑", r"疑似", r"可疑", r"不除外", r"不能排除", r"待排", r"或为", r"提示"
    ),
    post_uncertainty=_plain(r"可能", r"不除外", r"不能排除", r"待排"),
    terminators=_plain(r"，", r"但", r"然而", r"；"),
    left=_plain(r"左", r"舌段"),
    right=_plain(r"右"),
    bilateral=_plain(r"双", r"两"),
    item_separators=_plain(r"、", r"或", r"及", r"和", r"伴"),
)


def rules_for(lang: str) -> RuleSet:
    """Return the rule set for a language code ("en" or "zh")."""
    if lang == "en":
        return EN_RULES
    if lang == "zh":
        return ZH_RULES
    raise ValueError(f"unsupported language {lang!r}: expected 'en' or 'zh'")
