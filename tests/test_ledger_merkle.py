"""RFC 6962 hashing and proofs: every transparency-dev/merkle vector (negative cases included),
known answers, and proofs generated from a tree store checked against an independent recursive
reference written here from the RFC's definitions."""

from __future__ import annotations

import base64
import hashlib
import json
import random
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import custodes.ledger as ledger
from custodes.ledger import (
    EMPTY_ROOT,
    ConsistencyProof,
    InclusionProof,
    LedgerFormatError,
    MerkleTree,
    ProofError,
    leaf_hash,
    merkle_root,
    node_hash,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "vectors"
MERKLE_VECTORS = VECTORS / "transparency-dev-merkle"


def _vector_params(kind: str, happy_only: bool = False) -> list[Any]:
    folder = MERKLE_VECTORS / kind
    files = sorted(folder.rglob("*.json")) if folder.is_dir() else []
    if happy_only:
        files = [path for path in files if not json.loads(path.read_text())["wantErr"]]
    if not files:
        reason = f"shared test vectors not found at {folder}"
        return [pytest.param(None, id=f"{kind}-missing", marks=pytest.mark.skip(reason=reason))]
    return [
        pytest.param(path, id=path.relative_to(folder).with_suffix("").as_posix()) for path in files
    ]


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    data["proof"] = [base64.b64decode(h) for h in data["proof"] or []]  # Go's nil is null
    return data


def _b(text: str) -> bytes:
    return base64.b64decode(text)


@pytest.mark.parametrize("path", _vector_params("inclusion"))
def test_inclusion_vector(path: Path) -> None:
    v = _load(path)

    def check() -> None:
        verify_inclusion(_b(v["leafHash"]), v["leafIdx"], v["treeSize"], v["proof"], _b(v["root"]))

    if v["wantErr"]:
        with pytest.raises(ProofError):
            check()
    else:
        check()


@pytest.mark.parametrize("path", _vector_params("consistency"))
def test_consistency_vector(path: Path) -> None:
    v = _load(path)

    def check() -> None:
        verify_consistency(v["size1"], v["size2"], v["proof"], _b(v["root1"]), _b(v["root2"]))

    if v["wantErr"]:
        with pytest.raises(ProofError):
            check()
    else:
        check()


def test_the_vectors_hold_both_happy_and_failing_cases() -> None:
    if not MERKLE_VECTORS.is_dir():
        pytest.skip(f"shared test vectors not found at {MERKLE_VECTORS}")
    wanted = [
        json.loads(p.read_text())["wantErr"]
        for kind in ("inclusion", "consistency")
        for p in (MERKLE_VECTORS / kind).rglob("*.json")
    ]
    assert wanted.count(False) >= 10
    assert wanted.count(True) >= 150


@pytest.mark.parametrize("path", _vector_params("inclusion", happy_only=True))
def test_happy_inclusion_vectors_round_trip_as_proof_json(path: Path) -> None:
    raw = json.loads(path.read_text())
    shape = {k: raw[k] for k in ("leafIdx", "treeSize", "leafHash", "proof", "root")}
    shape["proof"] = shape["proof"] or []
    proof = InclusionProof.from_json(json.dumps(shape))
    proof.verify()
    assert proof.to_json() == shape


@pytest.mark.parametrize("path", _vector_params("consistency", happy_only=True))
def test_happy_consistency_vectors_round_trip_as_proof_json(path: Path) -> None:
    raw = json.loads(path.read_text())
    shape = {k: raw[k] for k in ("size1", "size2", "root1", "root2", "proof")}
    shape["proof"] = shape["proof"] or []
    if len(base64.b64decode(raw["root1"])) != 32:  # "don't care" roots: the format wants hashes
        with pytest.raises(LedgerFormatError, match="root1 is 12 bytes, not 32"):
            ConsistencyProof.from_json(shape)
        return
    proof = ConsistencyProof.from_json(shape)
    proof.verify()
    assert proof.to_json() == shape


# -- known answers (the RFC 6962 test data of transparency-dev/merkle) -----------------------

LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
          "606162636465666768696a6b6c6d6e6f"]  # fmt: skip
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def test_known_roots() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    hashes = [leaf_hash(bytes.fromhex(leaf)) for leaf in LEAVES]
    for size, root in enumerate(ROOTS, 1):
        assert merkle_root(hashes[:size]).hex() == root
    assert merkle_root([]) == EMPTY_ROOT


def test_leaf_and_node_prefixes() -> None:
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert (
        node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )


# -- an independent reference: RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 as written -------------


class Reference:
    """MTH, PATH and PROOF by their recursive definitions, over leaf data ``data``."""

    def __init__(self, data: list[bytes]) -> None:
        self.data = data
        self.mth = cache(self._mth)

    @staticmethod
    def _k(n: int) -> int:
        k = 1
        while k * 2 < n:
            k *= 2
        return k

    def _mth(self, lo: int, hi: int) -> bytes:
        n = hi - lo
        if n == 0:
            return hashlib.sha256(b"").digest()
        if n == 1:
            return hashlib.sha256(b"\x00" + self.data[lo]).digest()
        k = self._k(n)
        return hashlib.sha256(b"\x01" + self.mth(lo, lo + k) + self.mth(lo + k, hi)).digest()

    def path(self, m: int, lo: int, hi: int) -> list[bytes]:
        n = hi - lo
        if n == 1:
            return []
        k = self._k(n)
        if m < k:
            return [*self.path(m, lo, lo + k), self.mth(lo + k, hi)]
        return [*self.path(m - k, lo + k, hi), self.mth(lo, lo + k)]

    def subproof(self, m: int, lo: int, hi: int, whole: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if whole else [self.mth(lo, hi)]
        k = self._k(n)
        if m <= k:
            return [*self.subproof(m, lo, lo + k, whole), self.mth(lo + k, hi)]
        return [*self.subproof(m - k, lo + k, hi, False), self.mth(lo, lo + k)]


N_ORACLE = 2_000


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[MerkleTree, Reference]:
    rng = random.Random(6962)
    data = [rng.randbytes(rng.randrange(0, 40)) for _ in range(N_ORACLE)]
    tree = MerkleTree(tmp_path_factory.mktemp("oracle"))
    done = 0
    while done < N_ORACLE:
        n = min(rng.choice([1, 2, 3, 7, 64, 101, 333]), N_ORACLE - done)
        assert tree.append([leaf_hash(d) for d in data[done : done + n]]) == done
        done += n
    return tree, Reference(data)


def test_store_roots_match_the_reference_at_every_size(built: tuple[MerkleTree, Reference]) -> None:
    tree, ref = built
    for size in range(N_ORACLE + 1):
        assert tree.root(size) == ref.mth(0, size), size


def test_in_memory_root_matches_the_reference() -> None:
    rng = random.Random(9)
    for size in [*range(0, 70), *rng.sample(range(70, 600), 20)]:
        data = [rng.randbytes(8) for _ in range(size)]
        assert merkle_root([leaf_hash(d) for d in data]) == Reference(data).mth(0, size)


def _tamper(proof: list[bytes], rng: random.Random) -> list[list[bytes]]:
    """Corrupted copies of a proof: a flipped bit in each hash, one hash dropped or added."""
    variants = []
    for position in range(len(proof)):
        flipped = bytearray(proof[position])
        flipped[rng.randrange(32)] ^= 1 << rng.randrange(8)
        variants.append([*proof[:position], bytes(flipped), *proof[position + 1 :]])
    if proof:
        variants.append(proof[:-1])
        variants.append(proof[1:])
    variants.append([*proof, proof[-1] if proof else b"\x00" * 32])
    variants.append([b"\x00" * 32, *proof])
    return variants


def test_inclusion_proofs_match_the_reference_verify_and_resist_tampering(
    built: tuple[MerkleTree, Reference],
) -> None:
    tree, ref = built
    rng = random.Random(1)
    pairs = [(0, 1), (0, 2), (1, 2), (N_ORACLE - 1, N_ORACLE)]
    pairs += [(i, n) for n in rng.sample(range(1, N_ORACLE + 1), 150) for i in [rng.randrange(n)]]
    for index, size in pairs:
        proof = tree.inclusion_proof(index, size)
        assert proof == ref.path(index, 0, size), (index, size)
        leaf, root = tree.leaf_hash(index), tree.root(size)
        verify_inclusion(leaf, index, size, proof, root)
        for bad in _tamper(proof, rng):
            with pytest.raises(ProofError):
                verify_inclusion(leaf, index, size, bad, root)
        # A size with the same proof shape would pass: the checkpoint binds root to size.
        others = [(index + 1, size), (index - 1, size), (index, size * 2), (index, size // 2)]
        for other_index, other_size in others:
            with pytest.raises(ProofError):
                verify_inclusion(leaf, other_index, other_size, proof, root)
        with pytest.raises(ProofError):
            verify_inclusion(leaf_hash(b"not this"), index, size, proof, root)


def test_consistency_proofs_match_the_reference_verify_and_resist_tampering(
    built: tuple[MerkleTree, Reference],
) -> None:
    tree, ref = built
    rng = random.Random(2)
    pairs = [(1, 1), (1, 2), (2, 3), (4, 8), (3, 7), (N_ORACLE - 1, N_ORACLE)]
    for _ in range(150):
        low, high = sorted(rng.sample(range(1, N_ORACLE + 1), 2))
        pairs.append((low, high))
    for size1, size2 in pairs:
        proof = tree.consistency_proof(size1, size2)
        assert proof == ref.subproof(size1, 0, size2, True), (size1, size2)
        root1, root2 = tree.root(size1), tree.root(size2)
        verify_consistency(size1, size2, proof, root1, root2)
        if size1 == size2:
            continue
        for bad in _tamper(proof, rng):
            with pytest.raises(ProofError):
                verify_consistency(size1, size2, bad, root1, root2)
        for s1, s2 in [(size1 + 1, size2), (size1 - 1, size2), (size1, size2 * 2)]:
            if 0 < s1 < s2:
                with pytest.raises(ProofError):
                    verify_consistency(s1, s2, proof, root1, root2)
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, proof, root2, root1)
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, proof, root1, tree.root(size2 - 1))


# -- verifiers and proof JSON never fail with anything but their own errors ------------------

hashes32 = st.binary(min_size=32, max_size=32)
any_hash = st.one_of(hashes32, st.binary(max_size=40))
sizes = st.one_of(st.integers(-2, 70), st.integers(0, 2**64 + 5))


@settings(max_examples=300, deadline=None)
@given(any_hash, sizes, sizes, st.lists(any_hash, max_size=70), any_hash)
def test_verify_inclusion_fails_only_with_proof_error(
    leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes
) -> None:
    try:
        verify_inclusion(leaf, index, size, proof, root)
    except ProofError as error:
        assert "\n" not in str(error)


@settings(max_examples=300, deadline=None)
@given(sizes, sizes, st.lists(any_hash, max_size=70), any_hash, any_hash)
def test_verify_consistency_fails_only_with_proof_error(
    size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes
) -> None:
    try:
        verify_consistency(size1, size2, proof, root1, root2)
    except ProofError as error:
        assert "\n" not in str(error)


INCLUSION_JSON = {
    "leafIdx": 0,
    "treeSize": 1,
    "leafHash": base64.b64encode(bytes(32)).decode(),
    "proof": [],
    "root": base64.b64encode(bytes(32)).decode(),
}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=10,
)


@st.composite
def mutated_json(draw: st.DrawFn) -> object:
    """A valid inclusion proof object with one field dropped or replaced by any JSON value."""
    value: dict[str, object] = dict(INCLUSION_JSON)
    key = draw(st.sampled_from([*value, "extra"]))
    if draw(st.booleans()):
        value.pop(key, None)
    else:
        value[key] = draw(json_values)
    return value


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_values, mutated_json(), st.text(), st.binary()))
def test_proof_json_parsers_fail_only_with_format_errors(value: object) -> None:
    for parse in (InclusionProof.from_json, ConsistencyProof.from_json):
        try:
            parsed = parse(value)
        except LedgerFormatError as error:
            assert "\n" not in str(error)
        else:
            assert type(parsed).from_json(parsed.to_json()) == parsed


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"leafIdx": True}, "leafIdx is not an integer"),
        ({"treeSize": -1}, r"treeSize is not in 0\.\.2\^64-1"),
        ({"leafHash": "AAAA"}, "leafHash is 3 bytes, not 32"),
        ({"root": "AAA"}, "root is not valid base64"),
        ({"proof": "AAAA"}, "proof is not a list"),
        ({"proof": [1]}, "proof hash 0 is not a base64 string"),
        ({"extra": 1}, "unexpected fields: extra"),
    ],
)
def test_proof_json_errors_name_the_field(change: dict[str, object], message: str) -> None:
    with pytest.raises(LedgerFormatError, match=message):
        InclusionProof.from_json({**INCLUSION_JSON, **change})
    with pytest.raises(LedgerFormatError, match="has no root"):
        InclusionProof.from_json({k: v for k, v in INCLUSION_JSON.items() if k != "root"})
    with pytest.raises(LedgerFormatError, match="not valid JSON"):
        InclusionProof.from_json("{")


def test_the_public_surface_is_pinned() -> None:
    assert sorted(ledger.__all__) == [
        "COSIGNATURE_V1", "Checkpoint", "ConsistencyProof", "ED25519", "EMPTY_ROOT",
        "ENCODING_VERSION", "HASH_SIZE", "InclusionProof", "LedgerError", "LedgerFormatError",
        "MerkleTree", "Note", "ProofError", "Receipt", "Signature", "SignatureError", "Signer",
        "TreeError", "VerifiedNote", "VerifiedReceipt", "Verifier", "commitment",
        "consistency_path", "event_leaf", "generate_signer", "inclusion_path", "is_receipt_set",
        "leaf_hash",
        "merkle_root", "node_hash", "open_checkpoint", "open_note", "parse_checkpoint",
        "parse_note", "parse_signer_key", "parse_vkey", "subtree_root", "verify_consistency",
        "verify_inclusion", "verify_receipt", "verify_receipt_set",
    ]  # fmt: skip
    for name in ledger.__all__:
        assert getattr(ledger, name) is not None
