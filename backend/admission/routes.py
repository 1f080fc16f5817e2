"""Admission API: seat plans, tiers, lotteries and their evidence, offers, published lists."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, request

from backend.accounts import scope
from backend.admission import family, lists, lotteries, offers, plans, tiers
from backend.admission.schemas import (
    AdmissionReasonIn,
    AdmissionSeasonQuery,
    AdmissionSeatPlanList,
    AdmissionSeatPlanOut,
    AdmittedListOut,
    AdmittedListQuery,
    AdmittedRow,
    FamilyAdmissionOut,
    FreezeIn,
    ListStatusList,
    LookupIn,
    LookupOut,
    LotteryDetail,
    LotteryDrawIn,
    LotteryList,
    LotteryQuery,
    LotterySchoolList,
    OfferExpireIn,
    OfferExpireOut,
    OfferList,
    OfferOut,
    OfferPage,
    OfferQuery,
    OfferWithdrawIn,
    PlacementIn,
    PublicationOut,
    PublicLotteryQuery,
    PublishListIn,
    RegistryQuery,
    SeatPlanIn,
    TierOut,
    TiersIn,
    TiersOut,
    UnplacedList,
    UnplacedOut,
    UnplacedQuery,
    WaitlistOut,
    WaitlistQuery,
)
from backend.admission.serializers import (
    counter_out,
    family_admission_out,
    list_status_out,
    lottery_detail,
    lottery_out,
    lottery_schools_out,
    offer_out,
    school_ref,
    seat_plan_out,
    waitlist_out,
)
from backend.admission.services import pseudonym
from backend.core.api import api
from backend.core.auth import STAFF, current_user, require_roles
from backend.core.db import db
from backend.core.pii import mask_name
from backend.core.ratelimit import address_key, limiter
from backend.core.timeutil import local_iso
from backend.exports.responses import download_response
from backend.exports.services import CONTENT_TYPE as XLSX

bp = Blueprint("admission", __name__, url_prefix="/api/v1")
TAGS = ("admission",)


# --- seat plans and tiers (bureau) ------------------------------------------------------------


@bp.get("/admin/seat-plans")
@require_roles(*STAFF)
@api(query=AdmissionSeasonQuery, response=AdmissionSeatPlanList, errors=(404,), tags=TAGS)
def list_seat_plans(query: AdmissionSeasonQuery) -> AdmissionSeatPlanList:
    """Each school's plan (classes × class size) and the seats live offers hold."""
    rows = plans.seat_plans(current_user(), query.season_id)
    pending = plans.pending_lottery_schools(query.season_id)
    return AdmissionSeatPlanList(
        items=[seat_plan_out(s, query.season_id, p, t, lottery_pending=s.id in pending)
               for s, p, t in rows])


@bp.put("/admin/seat-plans/<int:season_id>/<int:school_id>")
@require_roles("bureau_admin")
@api(body=SeatPlanIn, response=AdmissionSeatPlanOut, errors=(404, 409, 422), tags=TAGS)
def put_seat_plan(season_id: int, school_id: int, body: SeatPlanIn) -> AdmissionSeatPlanOut:
    """Set a school's plan; never above the class-size cap nor below the seats taken."""
    plan, counter = plans.set_seat_plan(current_user(), season_id, school_id,
                                        classes=body.classes, class_size=body.class_size,
                                        client_address=request.remote_addr)
    return counter_out(plan.school, plan, counter)


@bp.get("/admin/priority-tiers/<int:season_id>/<int:school_id>")
@require_roles(*STAFF)
@api(response=TiersOut, errors=(404,), tags=TAGS)
def get_tiers(season_id: int, school_id: int) -> TiersOut:
    """The school's ordered priority tiers for the season (the defaults when none are set)."""
    user = current_user()
    scope.season(user, season_id)
    school = scope.school(user, school_id=school_id)
    return TiersOut(season_id=season_id, school=school_ref(school),
                    configured=tiers.tiers_configured(season_id, school.id),
                    tiers=[TierOut(**t) for t in tiers.tiers_for(season_id, school.id)])


@bp.put("/admin/priority-tiers/<int:season_id>/<int:school_id>")
@require_roles("bureau_admin")
@api(body=TiersIn, response=TiersOut, errors=(404, 409, 422), tags=TAGS)
def put_tiers(season_id: int, school_id: int, body: TiersIn) -> TiersOut:
    """Replace the ordered tiers; fixed once the school's real lottery is frozen."""
    user = current_user()
    saved = tiers.set_tiers(
        user, season_id, school_id,
        [{"key": t.key, "label": t.label, "rule": t.rule.as_rule()} for t in body.tiers],
        client_address=request.remote_addr)
    school = scope.school(user, school_id=school_id)
    return TiersOut(season_id=season_id, school=school_ref(school), configured=True,
                    tiers=[TierOut(**t) for t in saved])


# --- lotteries (bureau) ---------------------------------------------------------------------


@bp.post("/admin/lotteries")
@require_roles("bureau_admin")
@api(body=FreezeIn, response=LotteryDetail, status=201, errors=(404, 409, 422), tags=TAGS)
def freeze_lottery(body: FreezeIn) -> LotteryDetail:
    """Freeze a school's approved applicants and publish the commitment (or a practice run)."""
    lottery = lotteries.freeze_lottery(
        current_user(), body.season_id, body.school_id,
        public_value_source=body.public_value_source, practice=body.practice,
        respond_by=body.respond_by, client_address=request.remote_addr)
    return lottery_detail(lottery, admin=True)


@bp.get("/admin/lotteries")
@require_roles(*STAFF)
@api(query=LotteryQuery, response=LotteryList, errors=(404,), tags=TAGS)
def list_admin_lotteries(query: LotteryQuery) -> LotteryList:
    """The season's lotteries in the caller's scope, practice runs included and marked."""
    rows = lotteries.list_lotteries(current_user(), query.season_id, query.school_id)
    return LotteryList(items=[lottery_out(lot, admin=True) for lot in rows])


@bp.get("/admin/lottery-schools")
@require_roles(*STAFF)
@api(query=AdmissionSeasonQuery, response=LotterySchoolList, errors=(404,), tags=TAGS)
def list_lottery_schools(query: AdmissionSeasonQuery) -> LotterySchoolList:
    """Each school's lottery steps: seats, the list a freeze would commit to, its lottery."""
    return lottery_schools_out(lotteries.lottery_schools(current_user(), query.season_id))


@bp.get("/admin/lotteries/<int:lottery_id>")
@require_roles(*STAFF)
@api(response=LotteryDetail, errors=(404,), tags=TAGS)
def get_admin_lottery(lottery_id: int) -> LotteryDetail:
    """One lottery (practice runs included), with its tiers and result."""
    return lottery_detail(lotteries.lottery_in_scope(current_user(), lottery_id), admin=True)


@bp.get("/admin/lotteries/<int:lottery_id>/evidence.json")
@require_roles(*STAFF)
@api(errors=(404,), tags=TAGS, produces="application/json")
def get_admin_evidence(lottery_id: int) -> Response:
    """The evidence file of any lottery in scope (a practice run's says so)."""
    return _evidence_response(lotteries.lottery_in_scope(current_user(), lottery_id))


@bp.post("/admin/lotteries/<int:lottery_id>/draw")
@require_roles("bureau_admin")
@api(body=LotteryDrawIn, response=LotteryDetail, errors=(404, 409, 422), tags=TAGS)
def draw_lottery(lottery_id: int, body: LotteryDrawIn) -> LotteryDetail:
    """Enter the named public value: seed, lottery numbers, order, offers and notices."""
    lottery = lotteries.draw_lottery(current_user(), lottery_id, public_value=body.public_value,
                                     client_address=request.remote_addr)
    return lottery_detail(lottery, admin=True)


@bp.post("/admin/lotteries/<int:lottery_id>/cancel")
@require_roles("bureau_admin")
@api(body=AdmissionReasonIn, response=LotteryDetail, errors=(404, 409), tags=TAGS)
def cancel_lottery(lottery_id: int, body: AdmissionReasonIn) -> LotteryDetail:
    """Cancel a frozen lottery before its draw, with a reason (stays on the public record)."""
    lottery = lotteries.cancel_lottery(current_user(), lottery_id, reason=body.reason,
                                       client_address=request.remote_addr)
    return lottery_detail(lottery, admin=True)


# --- offers, waitlists, placement (bureau) ----------------------------------------------------


@bp.get("/admin/offers")
@require_roles(*STAFF)
@api(query=OfferQuery, response=OfferPage, errors=(404,), tags=TAGS)
def list_admin_offers(query: OfferQuery) -> OfferPage:
    """A page of the season's offers in the caller's scope (names masked)."""
    user = current_user()
    rows, total = offers.list_offers(user, query.season_id, school_id=query.school_id,
                                     status=query.status, overdue=query.overdue,
                                     page=query.page, page_size=query.page_size)
    return OfferPage(items=[offer_out(o, user) for o in rows], total=total, page=query.page,
                     page_size=query.page_size)


@bp.get("/admin/waitlist")
@require_roles(*STAFF)
@api(query=WaitlistQuery, response=WaitlistOut, errors=(404,), tags=TAGS)
def get_waitlist(query: WaitlistQuery) -> WaitlistOut:
    """A school's waitlist in order, each applicant with where it stands now."""
    return waitlist_out(offers.waitlist(current_user(), query.season_id, query.school_id),
                        query.season_id)


@bp.post("/admin/offers/<int:offer_id>/withdraw")
@require_roles("bureau_admin")
@api(body=AdmissionReasonIn, response=OfferOut, errors=(404, 409, 422), tags=TAGS)
def withdraw_offer_by_bureau(offer_id: int, body: AdmissionReasonIn) -> OfferOut:
    """Withdraw a live offer with a reason; the seat goes to the next on the waitlist."""
    user = current_user()
    offer = offers.withdraw_offer(user, offer_id, reason=body.reason,
                                  client_address=request.remote_addr)
    return offer_out(offer, user)


@bp.post("/admin/offers/expire-overdue")
@require_roles("bureau_admin")
@api(body=OfferExpireIn, response=OfferExpireOut, errors=(404,), tags=TAGS)
def expire_overdue(body: OfferExpireIn) -> OfferExpireOut:
    """Expire offers past their deadline; their seats go to the waitlists (notices sent)."""
    count = offers.expire_offers_for(current_user(), body.season_id, body.school_id,
                                     client_address=request.remote_addr)
    return OfferExpireOut(expired=count)


@bp.get("/admin/unplaced")
@require_roles("bureau_admin")
@api(query=UnplacedQuery, response=UnplacedList, errors=(404,), tags=TAGS)
def list_unplaced(query: UnplacedQuery) -> UnplacedList:
    """A page of approved children without a seat (for 统筹), names masked."""
    rows, total = offers.unplaced(current_user(), query.season_id, school_id=query.school_id,
                                  page=query.page, page_size=query.page_size)
    return UnplacedList(items=[UnplacedOut(
        registration_id=r.id, school=school_ref(r.school), child_name=mask_name(r.child.name),
        pseudonym=pseudonym(r.season_id, r.child_id), in_pending_lottery=pending)
        for r, pending in rows], total=total, page=query.page, page_size=query.page_size)


@bp.post("/admin/placements")
@require_roles("bureau_admin")
@api(body=PlacementIn, response=OfferOut, status=201, errors=(404, 409, 422), tags=TAGS)
def place_child(body: PlacementIn) -> OfferOut:
    """统筹: offer a seat at a school with free seats to an approved child not placed."""
    user = current_user()
    offer = offers.place_child(user, body.registration_id, body.school_id,
                               reason=body.reason, respond_by=body.respond_by,
                               client_address=request.remote_addr)
    db.session.refresh(offer)
    return offer_out(offer, user)


# --- published lists and the registry export ------------------------------------------------


@bp.get("/admin/admitted-lists")
@require_roles("bureau_admin")
@api(query=AdmissionSeasonQuery, response=ListStatusList, errors=(404,), tags=TAGS)
def list_admitted_lists(query: AdmissionSeasonQuery) -> ListStatusList:
    """Each school's admitted list: confirmed and open offers, whether it is published."""
    return list_status_out(lists.list_status(current_user(), query.season_id))


@bp.post("/admin/admitted-lists")
@require_roles("bureau_admin")
@api(body=PublishListIn, response=PublicationOut, errors=(404,), tags=TAGS)
def publish_admitted_list(body: PublishListIn) -> PublicationOut:
    """阳光招生: publish a school's admitted list (confirmed seats, masked) for the season."""
    user = current_user()
    publication = lists.publish_list(user, body.season_id, body.school_id,
                                     client_address=request.remote_addr)
    school = scope.school(user, school_id=body.school_id)
    return PublicationOut(season_id=publication.season_id, school=school_ref(school),
                          published_at=local_iso(publication.published_at,
                                                 school.authority.timezone) or "")


@bp.get("/admin/student-registry.xlsx")
@require_roles("bureau_admin")
@api(query=RegistryQuery, errors=(403, 404), tags=TAGS, produces=XLSX)
def export_registry(query: RegistryQuery) -> Response:
    """学籍: confirmed admissions in full (names, ID numbers, guardians), audited."""
    export = lists.registry_export(current_user(), query.season_id, query.school_id,
                                   client_address=request.remote_addr)
    return download_response(export)


# --- public ---------------------------------------------------------------------------------


def _evidence_response(lottery: object) -> Response:
    doc = lotteries.evidence(lottery)  # type: ignore[arg-type]
    body = json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True)
    response = Response(body, mimetype="application/json")
    kind = "practice-" if doc["practice"] else ""
    response.headers["Content-Disposition"] = (
        f'attachment; filename="lottery-{kind}{doc["lottery_id"]}-evidence.json"')
    return response


@bp.get("/lotteries")
@api(query=PublicLotteryQuery, response=LotteryList, tags=TAGS)
def list_public_lotteries(query: PublicLotteryQuery) -> LotteryList:
    """Published lotteries of a season (never a practice run)."""
    rows = lotteries.public_lotteries(query.season_id, query.school)
    return LotteryList(items=[lottery_out(lot) for lot in rows])


@bp.get("/lotteries/<int:lottery_id>")
@api(response=LotteryDetail, errors=(404,), tags=TAGS)
def get_public_lottery(lottery_id: int) -> LotteryDetail:
    """A published lottery: commitment, public value, seed, algorithm and ordered result."""
    return lottery_detail(lotteries.public_lottery(lottery_id))


@bp.get("/lotteries/<int:lottery_id>/evidence.json")
@api(errors=(404,), tags=TAGS, produces="application/json")
def get_public_evidence(lottery_id: int) -> Response:
    """The file `scripts/verify_lottery evidence.json` recomputes the draw from."""
    return _evidence_response(lotteries.public_lottery(lottery_id))


@bp.get("/admitted-lists/<school_code>")
@api(query=AdmittedListQuery, response=AdmittedListOut, errors=(404,), tags=TAGS)
def get_admitted_list(school_code: str, query: AdmittedListQuery) -> AdmittedListOut:
    """A school's published admitted list: masked names and pseudonymous ids."""
    data = lists.public_list(query.season_id, school_code[:32])
    school, season = data["school"], data["season"]
    return AdmittedListOut(
        school=school_ref(school), season_id=season.id, season_name=season.name,
        published_at=local_iso(data["published_at"], school.authority.timezone) or "",
        total=len(data["items"]), items=[AdmittedRow(**row) for row in data["items"]])


@bp.post("/admitted-lists/lookup")
@limiter.limit(lambda: current_app.config["ADMISSION_LOOKUP_LIMIT_PER_ADDRESS"],
               key_func=address_key)
@api(body=LookupIn, response=LookupOut, errors=(404, 429), tags=TAGS)
def lookup_admitted(body: LookupIn) -> LookupOut:
    """Is this child admitted? Last four of the ID number + birth date + school: yes or no."""
    found = lists.lookup(body.season_id, body.school_code, body.id_last4, body.birth_date)
    return LookupOut(admitted=found,
                     message="已在该校录取名单中" if found else "未在该校录取名单中查到")


# --- the family -------------------------------------------------------------------------------


@bp.get("/offers")
@require_roles("parent")
@api(response=OfferList, tags=TAGS)
def list_my_offers() -> OfferList:
    """Offers of the caller's children, with what the family may do."""
    user = current_user()
    return OfferList(items=[offer_out(o, user) for o in family.family_offers(user)])


@bp.post("/offers/<int:offer_id>/confirm")
@require_roles("parent")
@api(response=OfferOut, errors=(404, 409), tags=TAGS)
def confirm_offer(offer_id: int) -> OfferOut:
    """Accept the seat before the deadline."""
    user = current_user()
    return offer_out(offers.confirm_offer(user, offer_id), user)


@bp.post("/offers/<int:offer_id>/decline")
@require_roles("parent")
@api(response=OfferOut, errors=(404, 409), tags=TAGS)
def decline_offer(offer_id: int) -> OfferOut:
    """Decline the seat; it is offered to the next family on the waitlist."""
    user = current_user()
    return offer_out(offers.decline_offer(user, offer_id), user)


@bp.post("/offers/<int:offer_id>/withdraw")
@require_roles("parent")
@api(body=OfferWithdrawIn, response=OfferOut, errors=(404, 409), tags=TAGS)
def withdraw_offer(offer_id: int, body: OfferWithdrawIn) -> OfferOut:
    """Give up a confirmed seat; it is offered to the next family on the waitlist."""
    user = current_user()
    return offer_out(offers.withdraw_offer(user, offer_id, reason=body.reason,
                                           client_address=request.remote_addr), user)


@bp.get("/registrations/<int:registration_id>/admission")
@require_roles("parent")
@api(response=FamilyAdmissionOut, errors=(404,), tags=TAGS)
def get_family_admission(registration_id: int) -> FamilyAdmissionOut:
    """The family's pseudonymous id, its place in each published lottery, its offers."""
    user = current_user()
    return family_admission_out(family.family_admission(user, registration_id), user)
