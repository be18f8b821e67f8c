"""Social networks: valid compressed rows, reproducible from the seed, and each generator with
the statistics its model predicts (Erdős–Rényi, Watts–Strogatz, Barabási–Albert, configuration),
strong ties at the asked share, and edge lists read from files with clear errors.

Tolerances are a few standard errors of the statistic at the test's sample size; seeds are fixed.
"""

from __future__ import annotations

import math
import re

import networkx as nx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import TypeAdapter, ValidationError

from cxsim.network import (
    NetworkError,
    NetworkSpec,
    SocialNetwork,
    bernoulli_successes,
    build_network,
    draw_degrees,
    pair_of,
)

Z = 4.0  # standard errors allowed: a false alarm about once in 16,000 checks
SPEC = TypeAdapter(NetworkSpec)

KINDS = {
    "erdos_renyi": {"kind": "erdos_renyi", "mean_degree": 8},
    "watts_strogatz": {"kind": "watts_strogatz", "degree": 6, "rewire": 0.2},
    "barabasi_albert": {"kind": "barabasi_albert", "attach": 3},
    "configuration": {"kind": "configuration",
                      "degree": {"dist": "lognormal", "mean": 8, "sd": 6}},
}


def spec(data: dict):
    return SPEC.validate_python(data)


def build(data: dict, n: int, seed: int = 1) -> SocialNetwork:
    network = build_network(spec(data), n, seed)
    assert network is not None
    return network


def to_networkx(network: SocialNetwork) -> nx.Graph:
    graph = nx.Graph()
    graph.add_nodes_from(range(network.size))
    owner, contact, _ = network.contacts(np.arange(network.size))
    graph.add_edges_from(zip(owner.tolist(), contact.tolist(), strict=True))
    return graph


# --------------------------------------------------------------------------------------------
# the compressed rows


@pytest.mark.parametrize("kind", KINDS)
def test_rows_are_symmetric_sorted_without_self_loops_or_repeats(kind):
    n = 5_000
    network = build(KINDS[kind], n)
    indptr, indices = network.indptr, network.indices
    assert indptr.dtype == np.int64 and indptr.shape == (n + 1,) and indptr[0] == 0
    assert indices.dtype == np.int32 and network.strong.dtype == np.bool_
    assert network.edges > 0 and indices.size == 2 * network.edges == indptr[-1]
    row = np.repeat(np.arange(n), network.degree())
    assert (indices != row).all(), "self-loop"
    # within a row, contacts strictly increase: sorted, and no tie twice
    inside = row[1:] == row[:-1]
    assert (np.diff(indices)[inside] > 0).all()
    # each tie in both rows, with the same strong flag
    matrix = network.to_scipy()
    assert (matrix != matrix.T).nnz == 0
    assert network.nbytes == indptr.nbytes + indices.nbytes + network.strong.nbytes


@pytest.mark.parametrize("kind", KINDS)
def test_the_same_seed_gives_the_same_network_and_another_seed_another(kind):
    first, again, other = (build(KINDS[kind], 3_000, seed) for seed in (7, 7, 8))
    for name in ("indptr", "indices", "strong"):
        assert np.array_equal(getattr(first, name), getattr(again, name))
    assert not (np.array_equal(first.indptr, other.indptr)
                and np.array_equal(first.indices, other.indices))
    assert not np.array_equal(first.strong[: other.strong.size],
                              other.strong[: first.strong.size])


def test_fully_mixed_builds_no_edges():
    assert build_network(spec({"kind": "fully_mixed"}), 1_000, 1) is None
    assert spec({"kind": "fully_mixed", "strong_share": 0.5}).strong_share == 0.5


def test_contacts_match_a_loop_over_people():
    network = build(KINDS["barabasi_albert"], 300, seed=4)
    rng = np.random.default_rng(0)
    who = np.concatenate([rng.integers(0, 300, 50), [0, 0, 299]])  # repeats are fine
    owner, contact, strong = network.contacts(who)
    expected = [(i, c, s) for i, person in enumerate(who)
                for c, s in zip(network.indices[network.indptr[person]:network.indptr[person + 1]],
                                network.strong[network.indptr[person]:network.indptr[person + 1]],
                                strict=True)]
    assert list(zip(owner.tolist(), contact.tolist(), strong.tolist(), strict=True)) == [
        (i, int(c), bool(s)) for i, c, s in expected]
    assert np.array_equal(network.degree(who), np.bincount(owner, minlength=who.size))
    empty = network.contacts(np.array([], dtype=np.int64))
    assert all(part.size == 0 for part in empty)


def test_strong_and_weak_layers_split_the_ties():
    network = build(KINDS["erdos_renyi"], 2_000, seed=3)
    strong, weak = network.layer(True), network.layer(False)
    assert strong.edges + weak.edges == network.edges
    assert strong.strong.all() and not weak.strong.any()
    assert np.array_equal(strong.degree() + weak.degree(), network.degree())
    matrix = strong.to_scipy()
    assert (matrix != matrix.T).nnz == 0
    owner, contact, is_strong = network.contacts(np.arange(network.size))
    kept = strong.contacts(np.arange(network.size))
    assert np.array_equal(kept[1], contact[is_strong]) and np.array_equal(kept[0], owner[is_strong])


# --------------------------------------------------------------------------------------------
# the generators against their models


def test_pair_numbering_is_exact_for_large_indices():
    rng = np.random.default_rng(0)
    edge = rng.integers(2, 2**26, 100_000)  # first pairs of rows: where rounding can slip
    edge = edge * (edge - 1) // 2
    index = np.concatenate([np.arange(1000), rng.integers(0, 2**50, 100_000), edge, edge - 1])
    u, v = pair_of(index)
    u, v = u.astype(np.int64), v.astype(np.int64)
    assert (v >= 0).all() and (v < u).all()
    assert np.array_equal(u * (u - 1) // 2 + v, index)


def test_bernoulli_successes_count_and_spread():
    rng = np.random.default_rng(1)
    total, p = 10**9, 2e-4
    hits = bernoulli_successes(total, p, rng)
    assert (np.diff(hits) > 0).all() and hits[0] >= 0 and hits[-1] < total
    assert abs(hits.size - total * p) < Z * math.sqrt(total * p * (1 - p))
    # uniformly spread: each tenth of the range holds a tenth of the successes
    counts = np.bincount(hits // (total // 10), minlength=10)
    expected = hits.size / 10
    assert (np.abs(counts - expected) < Z * math.sqrt(expected)).all()


def test_erdos_renyi_degrees_are_binomial_with_the_asked_mean():
    n, k = 200_000, 10.0
    degree = build({"kind": "erdos_renyi", "mean_degree": k}, n, seed=2).degree()
    p = k / (n - 1)
    # the number of ties is Binomial(n(n-1)/2, p); the mean degree is twice it over n
    assert abs(degree.mean() - k) < Z * math.sqrt(2 * k * (1 - p) / n)
    # each degree is Binomial(n-1, p): variance k(1-p); the sample variance has standard error
    # sqrt((mu4 - sigma^4) / n) with mu4 - sigma^4 = k + 2k^2 for a Poisson
    assert abs(degree.var() - k * (1 - p)) < Z * math.sqrt((k + 2 * k * k) / n)
    # and the shape: the share with no contact is e^-k, with exactly k contacts Poisson(k)
    for d in (0, 5, 10, 15):
        share = math.exp(-k) * k**d / math.factorial(d)
        assert abs(np.mean(degree == d) - share) < Z * math.sqrt(share * (1 - share) / n) + 1e-5


def test_erdos_renyi_refuses_a_mean_degree_above_the_population():
    with pytest.raises(NetworkError, match="mean_degree 12"):
        build({"kind": "erdos_renyi", "mean_degree": 12}, 10)
    assert build({"kind": "erdos_renyi", "mean_degree": 9}, 10).edges == 45  # complete
    assert build({"kind": "erdos_renyi", "mean_degree": 0}, 10).edges == 0


def test_watts_strogatz_without_rewiring_is_the_ring_with_degree_k():
    n, k = 1_000, 6
    network = build({"kind": "watts_strogatz", "degree": k, "rewire": 0.0}, n)
    assert (network.degree() == k).all()
    owner, contact, _ = network.contacts(np.arange(n))
    distance = np.minimum((contact - owner) % n, (owner - contact) % n)
    assert set(distance.tolist()) == {1, 2, 3}


def test_watts_strogatz_keeps_the_mean_degree_and_rewires_the_asked_share():
    n, k, rewire = 200_000, 10, 0.2
    network = build({"kind": "watts_strogatz", "degree": k, "rewire": rewire}, n, seed=5)
    assert network.edges == n * k // 2
    assert network.degree().mean() == k
    owner, contact, _ = network.contacts(np.arange(n))
    distance = np.minimum((contact - owner) % n, (owner - contact) % n)
    off_ring = np.mean(distance > k // 2)  # a rewired tie lands back on the ring w.p. ~k/n
    assert abs(off_ring - rewire) < Z * math.sqrt(rewire * (1 - rewire) / network.edges) + k / n
    assert network.degree().min() >= k // 2  # each keeps the ties it owns


def test_watts_strogatz_is_far_more_clustered_than_erdos_renyi():
    n, k = 2_000, 10
    small_world = nx.average_clustering(to_networkx(
        build({"kind": "watts_strogatz", "degree": k, "rewire": 0.1}, n, seed=6)))
    random = nx.average_clustering(to_networkx(
        build({"kind": "erdos_renyi", "mean_degree": k}, n, seed=6)))
    # Barrat & Weigt (2000): C(beta) ~ 3(k-2)/(4(k-1)) (1-beta)^3 = 0.486; G(n, p): C ~ p = 0.005
    assert abs(small_world - 3 * (k - 2) / (4 * (k - 1)) * 0.9**3) < 0.05
    assert abs(random - k / (n - 1)) < 0.005
    assert small_world > 20 * random


def test_watts_strogatz_rewiring_a_complete_graph_ends():
    # K5: every rewired tie can only go back to a vacated pair; one may find none and is dropped
    for seed in range(20):
        network = build({"kind": "watts_strogatz", "degree": 4, "rewire": 1.0}, 5, seed)
        assert 8 <= network.edges <= 10
        matrix = network.to_scipy()
        assert (matrix != matrix.T).nnz == 0 and matrix.diagonal().sum() == 0


def test_watts_strogatz_degree_must_be_even_and_below_n():
    with pytest.raises(ValidationError, match="even"):
        spec({"kind": "watts_strogatz", "degree": 5, "rewire": 0.1})
    with pytest.raises(NetworkError, match="degree 10"):
        build({"kind": "watts_strogatz", "degree": 10, "rewire": 0.1}, 10)


def test_barabasi_albert_degrees_follow_the_power_law():
    n, m = 100_000, 3
    network = build({"kind": "barabasi_albert", "attach": m}, n, seed=8)
    degree = network.degree()
    # a star of m + 1, then m distinct ties per newcomer
    assert network.edges == m * (n - m) and degree.min() == m
    assert abs(degree.mean() - 2 * m) < 2 * m * m / n + 1e-12
    # heavy tail: hubs of order m sqrt(n) ~ 950, far above the mean (ER's max would be ~ 20)
    assert degree.max() > 50 * degree.mean()
    # P(k) = 2m(m+1) / (k(k+1)(k+2)) (Bollobás et al. 2001); uniform attachment would give
    # P(m) = 1/(m+1) = 0.25 instead of 0.4
    for k in range(m, m + 6):
        share = 2 * m * (m + 1) / (k * (k + 1) * (k + 2))
        assert abs(np.mean(degree == k) - share) < Z * math.sqrt(share * (1 - share) / n)


def test_barabasi_albert_smallest_network_is_a_star():
    network = build({"kind": "barabasi_albert", "attach": 4}, 5)
    assert network.degree().tolist() == [4, 1, 1, 1, 1]
    with pytest.raises(NetworkError, match="attach 5"):
        build({"kind": "barabasi_albert", "attach": 5}, 5)


def test_configuration_degrees_are_the_drawn_ones_bar_erased_ties():
    n = 100_000
    data = {"kind": "configuration", "degree": {"dist": "lognormal", "mean": 10, "sd": 5}}
    wanted = draw_degrees(spec(data), n, seed=9)
    assert wanted.sum() % 2 == 0
    assert abs(wanted.mean() - 10) < Z * 5 / math.sqrt(n) + 0.05  # rounding shifts it a little
    degree = build(data, n, seed=9).degree()
    assert (degree <= wanted).all()
    # erased: self-loops ~ Poisson(a/2), repeated pairs ~ Poisson(a^2/4), a = <d(d-1)>/<d>
    # (Newman 2010, Networks, 13.2); each costs two stubs
    a = np.mean(wanted * (wanted - 1.0)) / wanted.mean()
    erased = a / 2 + a * a / 4
    lost = int(wanted.sum() - degree.sum())
    assert lost % 2 == 0 and lost <= 2 * (erased + Z * math.sqrt(erased))
    assert np.mean(degree == wanted) > 0.999


def test_configuration_with_a_constant_degree_is_nearly_regular():
    network = build({"kind": "configuration", "degree": 4}, 10_000, seed=1)
    assert np.mean(network.degree() == 4) > 0.999 and network.degree().max() == 4


# --------------------------------------------------------------------------------------------
# strong and weak ties


def test_strong_ties_come_at_the_asked_share():
    n = 100_000
    for share in (0.3, 0.7):
        network = build({"kind": "erdos_renyi", "mean_degree": 10, "strong_share": share}, n)
        strong = network.strong.mean()
        assert abs(strong - share) < Z * math.sqrt(share * (1 - share) / network.edges)
    assert build(KINDS["erdos_renyi"], 1_000).strong.mean() == pytest.approx(0.3, abs=0.03)
    assert not build({**KINDS["erdos_renyi"], "strong_share": 0}, 1_000).strong.any()
    assert build({**KINDS["erdos_renyi"], "strong_share": 1}, 1_000).strong.all()


def test_a_higher_strong_share_keeps_the_graph_and_only_turns_weak_ties_strong():
    low = build({**KINDS["watts_strogatz"], "strong_share": 0.2}, 5_000, seed=3)
    high = build({**KINDS["watts_strogatz"], "strong_share": 0.5}, 5_000, seed=3)
    assert np.array_equal(low.indptr, high.indptr) and np.array_equal(low.indices, high.indices)
    assert (high.strong >= low.strong).all() and high.strong.sum() > low.strong.sum()


# --------------------------------------------------------------------------------------------
# edge lists


def ties_of(network: SocialNetwork) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    owner, contact, strong = network.contacts(np.arange(network.size))
    once = owner < contact
    return owner[once], contact[once], strong[once]


def write_csv(path, rows: list[str], header: str = "a,b,strong") -> None:
    path.write_text("\n".join([header, *rows]) + "\n")


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_edge_list_round_trip(tmp_path, suffix):
    original = build(KINDS["erdos_renyi"], 300, seed=2)
    a, b, strong = ties_of(original)
    file = tmp_path / f"ties.{suffix}"
    if suffix == "csv":
        write_csv(file, [f"{x},{y},{str(s).lower()}" for x, y, s in zip(a, b, strong,
                                                                          strict=True)])
    else:
        pq.write_table(pa.table({"a": a, "b": b, "strong": strong}), file)
    read = build_network(spec({"kind": "edge_list", "path": file.name}), 300, 99,
                         base=tmp_path)
    assert read is not None
    for name in ("indptr", "indices", "strong"):
        assert np.array_equal(getattr(read, name), getattr(original, name))


def test_edge_list_merges_repeats_and_draws_strength_when_the_file_has_none(tmp_path):
    file = tmp_path / "ties.csv"
    write_csv(file, ["0,1", "1,0", "2,3", "3,4"], header="a,b")
    network = build({"kind": "edge_list", "path": str(file), "strong_share": 1.0}, 5)
    assert network.edges == 3 and network.strong.all()
    assert build({"kind": "edge_list", "path": str(file)}, 5).edges == 3
    parquet = tmp_path / "ties.parquet"
    pq.write_table(pa.table({"a": [0, 1], "b": [1, 0], "strong": [False, True]}), parquet)
    merged = build({"kind": "edge_list", "path": str(parquet)}, 2)
    assert merged.edges == 1 and merged.strong.all()  # strong if any listing says so


@pytest.mark.parametrize(("rows", "header", "n", "message"), [
    (["0,1"], "a,c", 5, "no column 'b'"),
    (["0,1,x,true"], "a,b,c,strong", 5, "unknown column 'c'"),
    (["0,1", "1,5"], "a,b", 5, r"line 3: person id 5 in column 'b' is out of range: ids are "
                                r"row numbers 0..4"),
    (["0,1", "-1,2"], "a,b", 5, "line 3: person id -1 in column 'a' is out of range"),
    (["0,1", "2,2"], "a,b", 5, "line 3: person 2 is tied to themselves"),
    (["0,1", ",2"], "a,b", 5, "line 3: column 'a' is empty"),
    (["0,1.5"], "a,b", 5, "line 2: column 'b' must hold a whole number .a person id., got '1.5'"),
    (["0,1,maybe"], "a,b,strong", 5, "line 2: column 'strong' must hold true or false, got 'mayb"),
    (["0,1", "2,3,4"], "a,b", 5, "cannot read it as CSV: CSV parse error"),
])
def test_edge_list_errors_name_the_file_and_the_problem(tmp_path, rows, header, n, message):
    file = tmp_path / "bad.csv"
    write_csv(file, rows, header)
    with pytest.raises(NetworkError, match=message) as error:
        build({"kind": "edge_list", "path": str(file)}, n)
    assert str(file) in str(error.value)


def test_edge_list_file_problems(tmp_path):
    missing = tmp_path / "nowhere.parquet"
    with pytest.raises(NetworkError, match=r"nowhere\.parquet: no such edge-list file"):
        build({"kind": "edge_list", "path": str(missing)}, 5)
    with pytest.raises(NetworkError, match=re.escape(f"{missing}: no such")):  # from base
        build_network(spec({"kind": "edge_list", "path": "nowhere.parquet"}), 5, 1,
                      base=tmp_path)
    text = tmp_path / "ties.txt"
    text.write_text("a,b\n0,1\n")
    with pytest.raises(NetworkError, match=r"ties\.txt: unknown file type"):
        build({"kind": "edge_list", "path": str(text)}, 5)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    with pytest.raises(NetworkError, match=r"broken\.parquet: cannot read it as parquet"):
        build({"kind": "edge_list", "path": str(broken)}, 5)
    floats = tmp_path / "floats.parquet"
    pq.write_table(pa.table({"a": [0.0], "b": [1.0]}), floats)
    with pytest.raises(NetworkError, match="column 'a' must hold whole numbers"):
        build({"kind": "edge_list", "path": str(floats)}, 5)
    flagged = tmp_path / "flagged.parquet"
    pq.write_table(pa.table({"a": [0], "b": [1], "strong": [1]}), flagged)
    with pytest.raises(NetworkError, match="column 'strong' must hold true or false"):
        build({"kind": "edge_list", "path": str(flagged)}, 5)
    both = tmp_path / "both.parquet"
    pq.write_table(pa.table({"a": [0], "b": [1], "strong": [True]}), both)
    with pytest.raises(NetworkError, match="strong_share must not"):
        build({"kind": "edge_list", "path": str(both), "strong_share": 0.5}, 5)
    nulls = tmp_path / "nulls.parquet"
    pq.write_table(pa.table({"a": [0, 1, None], "b": [1, 2, 3]}), nulls)
    with pytest.raises(NetworkError, match="row 2: column 'a' is empty"):
        build({"kind": "edge_list", "path": str(nulls)}, 5)


# --------------------------------------------------------------------------------------------
# the specs


def test_specs_are_strict():
    with pytest.raises(ValidationError):
        spec({"kind": "small_world", "degree": 4})
    with pytest.raises(ValidationError):
        spec({"kind": "erdos_renyi", "mean_degre": 4})
    with pytest.raises(ValidationError):
        spec({"kind": "erdos_renyi", "mean_degree": "4"})
    with pytest.raises(ValidationError):
        spec({"kind": "erdos_renyi", "mean_degree": 4, "strong_share": 1.5})
    with pytest.raises(ValidationError):
        spec({"kind": "barabasi_albert", "attach": 0})
    assert spec({"kind": "configuration", "degree": 5}).degree.value == 5


def test_a_scenario_finds_its_edge_list_beside_it_from_any_folder(tmp_path, monkeypatch):
    import yaml

    from cxsim import load_scenario, simulate
    from cxsim.scenario_file import ScenarioError
    from cxsim.testing import tiny_scenario

    write_csv(tmp_path / "ties.csv", ["0,1,true", "1,2,false", "2,3,true"])
    data = tiny_scenario(size=10).model_dump(mode="json", by_alias=True)
    data["word_of_mouth"]["network"] = {"kind": "edge_list", "path": "ties.csv"}
    (tmp_path / "world.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    monkeypatch.chdir(tmp_path.parent)  # not the scenario's folder
    scenario = load_scenario(tmp_path / "world.yaml")
    assert scenario.word_of_mouth.network.path == str(tmp_path / "ties.csv")
    assert simulate(scenario)["kpis"].num_rows == 1
    (tmp_path / "ties.csv").unlink()
    with pytest.raises(ScenarioError, match=r"world\.yaml:\d+:\d+: word_of_mouth\.network\.path: "
                                            r"no such edge-list file .*ties\.csv"):
        load_scenario(tmp_path / "world.yaml")
