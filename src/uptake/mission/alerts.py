"""Alerts (docs/alerts.md): a signed-in user follows an organisation, an innovation or a custom group, and after
each publication of results gets one email digest of what is new for them:

- **special-cause change**: an organisation's SPC chart (result_spc) flags special-cause improvement, concern or
  neutral variation at its latest period; for an innovation, how many organisations of each level do, and
  England's own chart;
- **rating**: an organisation's newest published innovation rating (new, or changed since the last digest);
- **off trajectory**: a commitment the organisation is off trajectory on, or has missed, at its latest period
  (result_attainment);
- **worse and getting worse**: worse than England (the pipeline's comparison) and its SPC trend getting worse
  (the area profile's reader, uptake.results.read.profile).

"New" means: not in the digest this user was last sent, for an earlier publication (each item has a key holding
what it says: the period, the rating, the status). The first digest after subscribing holds everything that
stands. Each publication sends at most one digest per user (the sent_digests row, unique on user and
publication, is written in the same transaction as the send and committed only once the SMTP server has
accepted the message), so `uptake alerts send` is safe to run again; a failed send leaves nothing marked.

Results are read only through uptake.results.read, on the connection given (the web's snapshot, or a read-only
connection on the store).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import secrets
import smtplib
import ssl
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from uptake.catalogue import Catalogue
from uptake.errors import UptakeError
from uptake.mission.ratings import ratings_table
from uptake.results import read
from uptake.settings import Settings
from uptake.store.alert_models import TARGET_KINDS, AlertSubscription, SentDigest
from uptake.store.db import session_scope
from uptake.store.group_models import OrgGroup
from uptake.store.models import User, utcnow

KINDS = {
    "special-cause": "Special-cause change",
    "rating": "Rating",
    "off-trajectory": "Commitment off trajectory",
    "worse-and-getting-worse": "Worse than England and getting worse",
}
OFF_STATUSES = ("off-trajectory", "missed")


@dataclass(frozen=True)
class Item:
    """One line of a digest: what happened (``text`` says what it counts), for which subscription, and the page
    that shows it (``link``: a path on the site)."""

    key: str
    kind: str
    subscription: str
    text: str
    link: str
    synthetic: bool = False


@dataclass
class Digest:
    user_id: int
    email: str
    publication_id: int | None
    published_at: Any
    items: list[Item] = field(default_factory=list)
    #: the number of items that stand but were already in the previous digest
    already_told: int = 0
    subscriptions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        return [i.key for i in self.items]

    def content_sha256(self) -> str:
        body = json.dumps([asdict(i) for i in self.items], sort_keys=True, default=str)
        return hashlib.sha256(body.encode()).hexdigest()


# --- what a subscription covers ---------------------------------------------------------------------------


def describe(session: Session, cur: Any, catalogue: Catalogue, sub: AlertSubscription) -> dict[str, Any]:
    """The subscription as the pages and the email name it: its title, its page, and the organisations (code,
    level) or indicators it covers; ``missing`` when its target is gone."""
    out: dict[str, Any] = {"id": sub.id, "kind": sub.target_kind, "target_id": sub.target_id,
                           "created_at": sub.created_at, "orgs": [], "indicators": [], "missing": False}
    if sub.target_kind == "organisation":
        org = read.organisations.organisation(cur, sub.target_id)
        out.update(title=org["name"] if org else sub.target_id, link=f"/organisations/{sub.target_id}",
                   orgs=[(sub.target_id, org["level"])] if org else [], missing=org is None)
    elif sub.target_kind == "group":
        group = session.get(OrgGroup, int(sub.target_id)) if sub.target_id.isdigit() else None
        if group is None or group.owner_id != sub.user_id:
            out.update(title=f"group {sub.target_id} (deleted)", link="/groups", missing=True)
        else:
            out.update(title=f"{group.title} (custom group)", link=f"/groups/{group.id}",
                       orgs=[(m.org_code, group.level) for m in group.members])
    else:
        innovation = catalogue.innovations.get(sub.target_id)
        out.update(title=innovation.name if innovation else sub.target_id,
                   link=f"/innovations/{sub.target_id}", missing=innovation is None,
                   indicators=[i.id for i in catalogue.indicators.values() if i.innovation == sub.target_id])
    return out


def subscriptions_of(session: Session, user_id: int) -> list[AlertSubscription]:
    return list(session.scalars(select(AlertSubscription).where(AlertSubscription.user_id == user_id)
                                .order_by(AlertSubscription.target_kind, AlertSubscription.target_id)))


def check_target(session: Session, cur: Any, catalogue: Catalogue, user_id: int, kind: str, target_id: str) -> str:
    """The target's canonical id if a user may follow it; UptakeError saying why not otherwise."""
    if kind not in TARGET_KINDS:
        raise UptakeError(f"one can follow {', '.join(TARGET_KINDS)}, not {kind!r}")
    target_id = target_id.strip()
    if kind == "organisation":
        target_id = target_id.upper()
        if read.organisations.organisation(cur, target_id) is None:
            raise UptakeError(f"no organisation with the code {target_id!r}; check the ODS code")
    elif kind == "innovation":
        if target_id not in catalogue.innovations:
            raise UptakeError(f"no innovation {target_id!r} in the catalogue")
    else:
        group = session.get(OrgGroup, int(target_id)) if target_id.isdigit() else None
        if group is None or group.owner_id != user_id:
            raise UptakeError(f"no group {target_id} of yours")
    return target_id


# --- building a digest ------------------------------------------------------------------------------------


def _indicator_title(catalogue: Catalogue, indicator_id: str) -> str:
    ind = catalogue.indicators.get(indicator_id)
    return ind.title if ind else indicator_id


def _synthetic(catalogue: Catalogue, indicator_id: str, row_flag: Any = False) -> bool:
    ind = catalogue.indicators.get(indicator_id)
    return bool(row_flag) or bool(ind is not None and ind.synthetic)


def _day(value: Any) -> str:
    """A period as YYYY-MM-DD, whether a date, a datetime or a pandas Timestamp (so item keys compare)."""
    return value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else str(value)


def _month(value: Any) -> str:
    return value.strftime("%B %Y") if hasattr(value, "strftime") else str(value)


_LEVEL_PLURALS = {"sub-icb": "sub-ICB locations", "icb": "ICBs", "pcn": "PCNs", "isdn": "ISDNs"}


def _level_name(level: str) -> str:
    if level in _LEVEL_PLURALS:
        return _LEVEL_PLURALS[level]
    return level.replace("-", " ") + "s"


def _org_items(session: Session, cur: Any, catalogue: Catalogue, title: str, code: str, level: str,
               name: str) -> list[Item]:
    items: list[Item] = []
    # the organisation is named when the subscription is not it (a group's member)
    lead = "" if name == title else f"{name} ({code}): "

    def say(text: str) -> str:
        return lead + text if lead else text[:1].upper() + text[1:]

    profile = read.profile.profile(cur, code, level)
    for row in profile:
        ind = row["indicator"]
        ind_title = _indicator_title(catalogue, ind)
        link = f"/organisations/{code}?indicator={ind}"
        synthetic = _synthetic(catalogue, ind, row.get("synthetic"))
        points = read.spc.spc(cur, ind, level, code)
        if points and points[-1]["period"] == row["period"] and points[-1]["special_cause"] not in (
                None, "", "common-cause"):
            last = points[-1]
            rule = f" ({last['rule'].replace('-', ' ')})" if last.get("rule") else ""
            items.append(Item(
                key=f"spc|{ind}|{level}|{code}|{_day(row['period'])}|{last['special_cause']}", kind="special-cause",
                subscription=title,
                text=say(f"{ind_title} shows special-cause {last['special_cause']}{rule} in "
                      f"{_month(row['period'])} on its SPC chart of the {last['basis']}; the value that month is "
                      f"{_value(row['value'])} (95% interval {_value(row['ci95_low'])} to "
                      f"{_value(row['ci95_high'])})."),
                link=link, synthetic=synthetic))
        if row.get("worse_and_getting_worse"):
            items.append(Item(
                key=f"wgw|{ind}|{level}|{code}|{_day(row['period'])}", kind="worse-and-getting-worse", subscription=title,
                text=say(f"{ind_title} is {row['comparison']} than England in {_month(row['period'])} "
                      f"({_value(row['value'])}, 95% interval {_value(row['ci95_low'])} to "
                      f"{_value(row['ci95_high'])}; England {_value(row['benchmark_value'])}) and getting worse "
                      "(special-cause concern on its SPC chart)."),
                link=f"/organisations/{code}/profile", synthetic=synthetic))
    attainment = read.attainment.attainment(cur, org_code=code, level=level)
    if not attainment.empty:
        latest = attainment.sort_values("period").groupby(["framework", "commitment"], as_index=False).tail(1)
        for r in latest.itertuples(index=False):
            if r.status not in OFF_STATUSES:
                continue
            trajectory = "" if r.trajectory_value is None else f"; its trajectory that period is {_value(r.trajectory_value)}"
            items.append(Item(
                key=f"att|{r.framework}|{r.commitment}|{level}|{code}|{_day(r.period)}|{r.status}", kind="off-trajectory",
                subscription=title,
                text=say(f"commitment {r.commitment} ({_indicator_title(catalogue, r.indicator)}) is "
                      f"{r.status.replace('-', ' ')} in {_month(r.period)}: value {_value(r.value)} (95% interval "
                      f"{_value(r.ci95_low)} to {_value(r.ci95_high)}){trajectory}, target {_value(r.target)}."),
                link=f"/nsf/{r.framework}/{r.commitment}", synthetic=bool(r.synthetic)))
    ratings = ratings_table(session, status="published", org_code=code, level=level, with_trace=False, results=cur)
    if not ratings.empty:
        newest = ratings.sort_values("period").iloc[-1]
        items.append(Item(
            key=f"rating|{level}|{code}|{_day(newest['period'])}|{newest['rating']}", kind="rating", subscription=title,
            text=say(f"published innovation rating for the year from {_month(newest['period'])} is "
                  f"'{newest['rating']}' (from the rating rules applied to its NSF attainment)."),
            link=f"/ratings/{level}/{code}", synthetic=bool(newest.get("synthetic", False))))
    return items


def _value(x: Any) -> str:
    if x is None:
        return "n/a"
    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    if f != f:
        return "n/a"
    return f"{f:.1%}" if -1.5 <= f <= 1.5 else f"{f:,.3g}"


def _innovation_items(cur: Any, catalogue: Catalogue, title: str, innovation_id: str,
                      indicators: list[str]) -> list[Item]:
    items = []
    for row in read.spc.latest_special_causes(cur, indicators) if indicators else []:
        flagged = row["improvement"] + row["concern"] + row["neutral"]
        if not flagged and row["england"] in (None, "common-cause"):
            continue
        ind = row["indicator"]
        if row["level"] == "england":
            if row["england"] in (None, "", "common-cause"):
                continue
            text = (f"{_indicator_title(catalogue, ind)}, {_month(row['period'])}: England's own SPC chart shows "
                    f"special-cause {row['england']}.")
        else:
            england = "" if row["england"] in (None, "") else f" England's own chart: {row['england']}."
            text = (f"{_indicator_title(catalogue, ind)}, {_month(row['period'])}: of {row['charted']:,} "
                    f"{_level_name(row['level'])} charted, {row['improvement']:,} show special-cause improvement, "
                    f"{row['concern']:,} special-cause concern and {row['neutral']:,} neutral special-cause "
                    f"variation on their SPC charts.{england}")
        items.append(Item(
            key=(f"inn|{ind}|{row['level']}|{_day(row['period'])}|{row['improvement']}|{row['concern']}|"
                 f"{row['neutral']}|{row['england']}"),
            kind="special-cause", subscription=title, text=text,
            link=f"/innovations/{innovation_id}", synthetic=_synthetic(catalogue, ind)))
    return items


def current_items(session: Session, cur: Any, catalogue: Catalogue, user_id: int) -> tuple[list[Item], list[dict]]:
    """Every item that stands for the user's subscriptions in the results on ``cur``, and the subscriptions."""
    items: list[Item] = []
    described = []
    for sub in subscriptions_of(session, user_id):
        d = describe(session, cur, catalogue, sub)
        described.append(d)
        if d["missing"]:
            continue
        if d["kind"] == "innovation":
            items += _innovation_items(cur, catalogue, d["title"], d["target_id"], d["indicators"])
            continue
        names = read.organisations.organisation_names(cur, [c for c, _ in d["orgs"]])
        for code, level in d["orgs"]:
            items += _org_items(session, cur, catalogue, d["title"], code, level, names.get(code, code))
    seen: set[tuple[str, str]] = set()
    unique = []
    for i in items:  # an organisation followed both alone and in a group is told once per subscription
        if (i.key, i.subscription) not in seen:
            seen.add((i.key, i.subscription))
            unique.append(i)
    return unique, described


def _changed(item: Item, told: set[str]) -> Item:
    """A rating the last digest gave otherwise for the same organisation and year says what it was."""
    if item.kind != "rating":
        return item
    stem = item.key.rsplit("|", 1)[0] + "|"
    before = sorted(k[len(stem):] for k in told if k.startswith(stem))
    if not before:
        return item
    return replace(item, text=item.text + f" It was '{before[-1]}' in your last digest.")


def build_digest(session: Session, cur: Any, catalogue: Catalogue, user: User) -> Digest:
    """The user's digest for the publication on ``cur``: what stands now and was not in the digest sent for an
    earlier publication (the latest one before it)."""
    pub = read.runs.publication(cur)
    publication_id = int(pub["publication_id"]) if pub else None
    items, described = current_items(session, cur, catalogue, user.id)
    previous = session.scalar(
        select(SentDigest).where(SentDigest.user_id == user.id,
                                 SentDigest.publication_id < (publication_id if publication_id is not None else 0))
        .order_by(SentDigest.publication_id.desc()).limit(1))
    told = set((previous.content or {}).get("keys", [])) if previous is not None else set()
    new = [_changed(i, told) for i in items if i.key not in told]
    return Digest(user.id, user.email, publication_id, pub["published_at"] if pub else None, new,
                  len(items) - len(new), described)


# --- the email ----------------------------------------------------------------------------------------------


def _absolute(base: str, link: str) -> str:
    return base.rstrip("/") + link


def render_text(digest: Digest, base_url: str, unsubscribe_url: str) -> str:
    lines = [f"Uptake alerts: what is new in publication {digest.publication_id} of the results", ""]
    for kind, label in KINDS.items():
        mine = [i for i in digest.items if i.kind == kind]
        if not mine:
            continue
        lines += [f"{label} ({len(mine)})", "-" * (len(label) + 6)]
        for i in mine:
            lines.append(f"* [{i.subscription}] {i.text}{' SYNTHETIC data.' if i.synthetic else ''}")
            lines.append(f"  {_absolute(base_url, i.link)}")
        lines.append("")
    lines += ["How these are calculated: " + _absolute(base_url, "/about#methods"),
              f"Your alerts: {_absolute(base_url, '/alerts')}",
              f"Stop these emails (one click, no sign-in needed): {unsubscribe_url}"]
    return "\n".join(lines) + "\n"


def render_html(digest: Digest, base_url: str, unsubscribe_url: str) -> str:
    e = html.escape
    parts = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Uptake alerts</title></head>"
             "<body style=\"font-family: Arial, sans-serif; color: #212b32\">",
             f"<h1>Uptake alerts</h1><p>What is new for you in publication {digest.publication_id} of the results.</p>"]
    for kind, label in KINDS.items():
        mine = [i for i in digest.items if i.kind == kind]
        if not mine:
            continue
        parts.append(f"<h2>{e(label)} ({len(mine)})</h2><ul>")
        for i in mine:
            synthetic = " <strong>SYNTHETIC data.</strong>" if i.synthetic else ""
            parts.append(f"<li><strong>{e(i.subscription)}</strong>: {e(i.text)}{synthetic} "
                         f"<a href=\"{e(_absolute(base_url, i.link))}\">See the page</a></li>")
        parts.append("</ul>")
    parts.append(f"<p><a href=\"{e(_absolute(base_url, '/about#methods'))}\">How these are calculated</a> &middot; "
                 f"<a href=\"{e(_absolute(base_url, '/alerts'))}\">Your alerts</a> &middot; "
                 f"<a href=\"{e(unsubscribe_url)}\">Unsubscribe</a> (one click, no sign-in needed)</p>")
    parts.append("</body></html>")
    return "".join(parts)


def compose(digest: Digest, settings: Settings, token: str) -> EmailMessage:
    """The email of a digest: plain text and HTML, with List-Unsubscribe (RFC 2369) and one-click POST (RFC 8058)."""
    base = settings.public_url
    unsubscribe_url = _absolute(base, f"/alerts/unsubscribe/{token}")
    message = EmailMessage()
    message["Subject"] = f"Uptake alerts: {len(digest.items)} new item{'s' if len(digest.items) != 1 else ''}"
    message["From"] = settings.smtp_from
    message["To"] = digest.email
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="uptake.local")
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(render_text(digest, base, unsubscribe_url))
    message.add_alternative(render_html(digest, base, unsubscribe_url), subtype="html")
    return message


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- sending ------------------------------------------------------------------------------------------------


@dataclass
class SendSummary:
    publication_id: int | None
    sent: list[str] = field(default_factory=list)
    nothing_new: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


class _Mailer:
    """One SMTP connection, opened at the first message."""

    def __init__(self, settings: Settings):
        if not settings.smtp_host:
            raise UptakeError("no SMTP server is set: set UPTAKE_SMTP_HOST (and UPTAKE_SMTP_PORT, UPTAKE_SMTP_FROM; "
                              "docs/alerts.md)")
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def send(self, message: EmailMessage) -> None:
        s = self.settings
        if self.smtp is None:
            try:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
                if s.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.smtp_user:
                    smtp.login(s.smtp_user, s.smtp_password or "")
            except (OSError, smtplib.SMTPException) as error:
                raise UptakeError(f"could not connect to the SMTP server {s.smtp_host}:{s.smtp_port} ({error}); "
                                  "check UPTAKE_SMTP_HOST, UPTAKE_SMTP_PORT and the server. Nothing was marked as "
                                  "sent") from error
            self.smtp = smtp
        self.smtp.send_message(message)

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass


def send_digests(engine: Engine, cur: Any, catalogue: Catalogue, settings: Settings,
                 progress: Callable[[int, int, str], None] | None = None,
                 users: Iterable[int] | None = None) -> SendSummary:
    """Send each subscriber the digest of the publication on ``cur`` (at most one per user and publication).
    A message the server refuses is reported in ``failed`` and not marked; a server that cannot be reached
    raises UptakeError (nothing more is sent, nothing is marked)."""
    mailer = _Mailer(settings)
    pub = read.runs.publication(cur)
    if pub is None:
        raise UptakeError("no results have been published yet: run `uptake compute` first")
    publication_id = int(pub["publication_id"])
    summary = SendSummary(publication_id)
    with session_scope(engine) as session:
        wanted = select(AlertSubscription.user_id).distinct().order_by(AlertSubscription.user_id)
        user_ids = [u for u in session.scalars(wanted) if users is None or u in set(users)]
    try:
        for n, user_id in enumerate(user_ids, 1):
            with session_scope(engine, write=True) as session:
                user = session.get(User, user_id)
                if user is None or not user.active:
                    continue
                if progress:
                    progress(n, len(user_ids), user.email)
                if session.scalar(select(SentDigest.id).where(SentDigest.user_id == user_id,
                                                              SentDigest.publication_id == publication_id)):
                    summary.already_sent.append(user.email)
                    continue
                digest = build_digest(session, cur, catalogue, user)
                if not digest.items:
                    summary.nothing_new.append(user.email)
                    continue
                token = secrets.token_urlsafe(32)
                everything, _ = current_items(session, cur, catalogue, user_id)
                session.add(SentDigest(
                    user_id=user_id, publication_id=publication_id, sent_at=utcnow(),
                    content_sha256=digest.content_sha256(),
                    content={"keys": [i.key for i in everything],
                             "subscriptions": [s["id"] for s in digest.subscriptions],
                             "items": [asdict(i) for i in digest.items]},
                    unsubscribe_token_sha256=token_sha256(token)))
                session.flush()  # a second run racing this one stops here, on the unique (user, publication)
                try:
                    mailer.send(compose(digest, settings, token))
                except smtplib.SMTPException as error:  # this message refused; the next may pass
                    session.rollback()
                    summary.failed.append((user.email, str(error)))
                    continue
                summary.sent.append(user.email)
    finally:
        mailer.close()
    return summary


def sent_digest_for_token(session: Session, token: str) -> SentDigest | None:
    if not token or len(token) > 200:
        return None
    return session.scalar(select(SentDigest).where(SentDigest.unsubscribe_token_sha256 == token_sha256(token)))


def unsubscribe_by_token(session: Session, token: str) -> tuple[int, list[int]] | None:
    """Remove the subscriptions the digest with this token covered (those still there): (user id, their ids).
    None for an unknown token."""
    digest = sent_digest_for_token(session, token)
    if digest is None:
        return None
    ids = list((digest.content or {}).get("subscriptions", []))
    gone = []
    for sub in session.scalars(select(AlertSubscription).where(AlertSubscription.user_id == digest.user_id,
                                                               AlertSubscription.id.in_(ids or [-1]))):
        gone.append(sub.id)
        session.delete(sub)
    return digest.user_id, gone


def latest_sent(session: Session, user_id: int) -> SentDigest | None:
    return session.scalar(select(SentDigest).where(SentDigest.user_id == user_id)
                          .order_by(SentDigest.publication_id.desc()).limit(1))


def as_dict(digest: Digest) -> dict[str, Any]:
    return {"publication_id": digest.publication_id,
            "published_at": digest.published_at.isoformat() if isinstance(digest.published_at, dt.datetime)
            else digest.published_at,
            "already_told": digest.already_told, "items": [asdict(i) for i in digest.items]}
