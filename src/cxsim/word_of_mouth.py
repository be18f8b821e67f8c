"""Word of mouth: what customers tell others after a journey, and what it does to them.

After a journey a customer may talk about it. The message's valence is the journey's
evaluation plus noise. The chance to talk rises with how extreme the experience was, and
dissatisfied customers talk more (Anderson 1998: a U-shaped relation with a heavier negative
arm):

    P(talk) = talkativeness · (1 − e^{−|v| / s}) · (b if v < 0 else 1),

with s = ``extremity`` and b = ``negativity_bias``. When most customers are satisfied, positive
messages still outnumber negative ones (East, Hammond & Wright 2007 report about 3:1), because
there are many more satisfied customers than dissatisfied ones.

A talking customer tells ``audience`` people on average: random people of a fully mixed
population, or their own contacts on a network, a contact with tie weight w being told with
probability min(1, audience · w / Σw over their contacts), so strong ties hear more often
(Goldenberg, Libai & Muller 2001). A receiver's attitude moves by ``attitude_influence · c · v``
and their expectation by ``expectation_influence · c · v``, c the credibility of the tie
(strong ties are believed more: Brown & Reingen 1987). A prospect told good news becomes aware
of the brand with chance ``awareness_per_message`` per message.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from cxsim.network import SocialNetwork
from cxsim.scenario import WordOfMouth
from cxsim.streams import Streams, slot_uniform


@dataclass(frozen=True)
class Messages:
    """One day's messages, one element each."""

    sender: np.ndarray
    receiver: np.ndarray
    valence: np.ndarray
    strong: np.ndarray  # the tie is strong (always False on a fully mixed population)
    credibility: np.ndarray  # how much the receiver believes it


def talk(talkers: np.ndarray, evaluation: np.ndarray, talkativeness: np.ndarray,
         serial: np.ndarray, spec: WordOfMouth, streams: Streams,
         network: SocialNetwork | None, population: int) -> Messages:
    """The messages that customers ``talkers``, just back from journeys they rate
    ``evaluation``, send today; ``serial`` (their journey number) keys their draws."""
    valence = evaluation + spec.valence_noise * streams.normal("valence", talkers, serial=serial)
    talking = _talking(talkers, valence, talkativeness, serial, spec.extremity,
                       spec.negativity_bias, streams.key("talk"))
    senders, valence, serial = talkers[talking], valence[talking], serial[talking]
    if network is None:
        return _tell_anyone(senders, valence, serial, spec, streams, population)
    return _tell_contacts(senders, valence, serial, spec, streams, network)


@numba.njit(cache=True)
def _talking(talkers: np.ndarray, valence: np.ndarray, talkativeness: np.ndarray,
             serial: np.ndarray, extremity: float, negativity_bias: float,
             key: np.uint64) -> np.ndarray:  # pragma: no cover - compiled
    """Who of ``talkers`` talks: P(talk) = talkativeness · (1 − e^{−|v| / extremity}) ·
    (negativity_bias if v < 0 else 1), at most 1, drawn from stream ``key`` at ``serial``."""
    talking = np.empty(talkers.shape[0], dtype=np.bool_)
    for i in range(talkers.shape[0]):
        v = valence[i]
        bias = negativity_bias if v < 0 else 1.0
        chance = np.float64(talkativeness[i]) * (1.0 - np.exp(-abs(v) / extremity)) * bias
        talking[i] = slot_uniform(talkers[i], serial[i], key) < min(max(chance, 0.0), 1.0)
    return talking


def _tell_anyone(senders: np.ndarray, valence: np.ndarray, serial: np.ndarray,
                 spec: WordOfMouth, streams: Streams, population: int) -> Messages:
    """On a fully mixed population: ``audience`` random people each (rounded by chance)."""
    owner, receiver = _random_audiences(senders, serial.astype(np.int64), spec.audience,
                                        streams.key("audience"), streams.key("receiver"),
                                        population)
    return Messages(senders[owner], receiver, valence[owner], np.zeros(len(owner), dtype=bool),
                    np.full(len(owner), spec.credibility.stranger))


@numba.njit(cache=True)
def _random_audiences(senders: np.ndarray, serial: np.ndarray, audience: float,
                      audience_key: np.uint64, receiver_key: np.uint64,
                      population: int) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
    """Each sender tells ⌊audience⌋ people, one more with chance audience − ⌊audience⌋; the
    n-th receiver is drawn at serial · 2¹⁰ + n (audience ≤ 1000 < 2¹⁰); a sender drawn as
    their own receiver tells nobody there. Returns each message's sender (index into
    ``senders``) and receiver."""
    whole = int(audience)
    owner = np.empty(senders.shape[0] * (whole + 1), dtype=np.int64)
    receiver = np.empty_like(owner)
    count = 0
    for i in range(senders.shape[0]):
        told = whole + (slot_uniform(senders[i], serial[i], audience_key) < audience - whole)
        for nth in range(told):
            u = slot_uniform(senders[i], (serial[i] << 10) + nth, receiver_key)
            r = min(int(u * population), population - 1)
            if r != senders[i]:
                owner[count], receiver[count] = i, r
                count += 1
    return owner[:count], receiver[:count]


def _tell_contacts(senders: np.ndarray, valence: np.ndarray, serial: np.ndarray,
                   spec: WordOfMouth, streams: Streams, network: SocialNetwork) -> Messages:
    """On a network: each contact told with a chance in proportion to the tie's weight."""
    owner, contact, strong, position = network.contacts(senders, positions=True)
    weight = np.where(strong, spec.strong_tie_weight, spec.weak_tie_weight)
    total = np.bincount(owner, weights=weight, minlength=len(senders))
    with np.errstate(divide="ignore", invalid="ignore"):
        chance = np.minimum(1.0, spec.audience * weight / total[owner])
    u = streams.uniform("tell", position, serial=serial[owner])
    told = u < np.nan_to_num(chance)
    owner = owner[told]
    credibility = np.where(strong[told], spec.credibility.strong, spec.credibility.weak)
    return Messages(senders[owner], contact[told].astype(np.int64), valence[owner],
                    strong[told], credibility)
