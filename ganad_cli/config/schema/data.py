"""Schemas of the `data` group: the fields every data set shares, and each data set's own."""

from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import MISSING


@dataclass
class DataConfig:
    """Fields every data set shares: labels, splits, contamination, loading."""

    name: str = MISSING
    root: str | None = None
    normal_classes: list[str] = field(default_factory=lambda: ["N"])
    split: str = "intra_patient"
    folds: int = 5
    fold: int = 0
    val_fraction: float = 0.1
    val_anomaly_fraction: float = 0.0
    # split=intra_patient: take val_anomaly_fraction of each anomaly class (ceil, as sklearn's
    # train_test_split per class in the BeatGAN authors' ecg/data.py:71-86) instead of that
    # fraction of all anomalies together
    val_anomaly_per_class: bool = False
    # the survey's Lambda: the share of anomalies in the training set
    contamination: float = 0.0
    # the largest Lambda compared: its anomalies are held out of validation and test for every
    # Lambda, so those stay the same beats (null = contamination)
    contamination_max: float | None = None
    # split=ecgan: fraction of normals in train+validation (the rest is test), as in ecgan
    train_fraction: float = 0.85
    # split=inter_patient: groups (records/patients) for train+validation and for test;
    # null = seeded group-wise folds (`folds`, `fold`)
    train_groups: list[str] | None = None
    test_groups: list[str] | None = None
    # split=inter_patient: anomaly classes the validation groups must hold (more groups are
    # taken until they do); null = every anomaly class of the train groups
    val_required_classes: list[str] | None = None
    max_samples: int | None = None
    batch_size: int = 64
    num_workers: int = 0
    seed: int = 0


@dataclass
class SyntheticECGConfig(DataConfig):
    name: str = "synthetic_ecg"
    n_normal: int = 4000
    n_per_anomaly: int = 120
    length: int = 128
    noise: float = 0.02
    anomaly_types: list[str] = field(
        default_factory=lambda: ["pvc", "premature", "inverted_t", "st_shift", "noise_burst"]
    )


@dataclass
class MitbihConfig(DataConfig):
    """MIT-BIH Arrhythmia Database via wfdb (root: data.root, $GANAD_MITDB or data/mitdb)."""

    name: str = "mitbih"
    download: bool = True
    records: list[int] | None = None
    preprocess: str = "beatgan"
    lead: str = "MLII"
    two_leads: bool = False
    bandpass: list[float] | None = None
    missing_lead: str = "skip"
    exclude_paced: bool | None = None
    beatgan_before: int = 140
    beatgan_after: int = 180
    kachuee_fs: int = 125
    kachuee_window_s: float = 10.0
    kachuee_length: int = 187
    resample_length: int | None = None
    # none | ecgan (preprocess=kachuee: each split min-max to [-1, 1] by its own range)
    scale: str = "none"
    # aami (EC57) | beatgan (the BeatGAN authors' lists: e and j are S)
    class_mapping: str = "aami"
    # null | biosppy | biosppy_ecg: N beats kept only near a detected R peak (BeatGAN's code)
    normal_r_filter: str | None = None
    cache: bool = True
    cache_dir: str | None = None


@dataclass
class KachueeCSVConfig(DataConfig):
    """Kachuee et al.'s published beat CSVs (mitbih_train.csv, mitbih_test.csv: 187 samples,
    then the class 0..4 = N, S, V, F, Q); ganad_cli.data.kachuee."""

    name: str = "kachuee_csv"
    train_csv: str | None = None
    test_csv: str | None = None
    # files: train normals (less validation) to train, the test file to test | ecgan: pooled
    split: str = "files"
    # ecgan's DataCleanser: drop flat beats and beats with values outside [-1, 1]
    cleanse: bool = True
    # none | ecgan (each split min-max to [-1, 1] by its own range, after the split) | global
    # (all beats read min-max to [-1, 1]) | beat (each beat min-max to [-1, 1])
    scale: str = "global"
    resample_length: int | None = None
    val_anomaly_fraction: float = 0.1


@dataclass
class UCRConfig(DataConfig):
    """UCR-archive .tsv files (label in column 0) in data.root, or data set data.dataset in
    $GANAD_UCR/<NAME> or data/ucr/<NAME>, downloaded from the archive when absent."""

    name: str = "ucr"
    dataset: str | None = None
    # data.root unset and the data set's files absent: fetch the archive's zip (ucr_files.py)
    download: bool = True
    normalize: str = "none"


@dataclass
class CSVConfig(DataConfig):
    """One window per row of data.root (a .csv file); optional label column."""

    name: str = "csv"
    label_column: int | None = None
    header: bool = False
    delimiter: str = ","
    normalize: str = "none"


@dataclass
class NPYConfig(DataConfig):
    """Windows (n, length) or (n, channels, length) in data.root (a .npy file)."""

    name: str = "npy"
    labels: str | None = None
    normalize: str = "none"


@dataclass
class DigitsConfig(DataConfig):
    """scikit-learn's 8x8 digits; data.normal_classes names the normal digit(s)."""

    name: str = "digits"
    normalize: str = "minmax"
