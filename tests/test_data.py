"""Datasets: planted shapes, ImageNet-style folders, the ImageNet class table."""

from pathlib import Path

import numpy as np
import pytest
import torch

from codec import classes, data

# --------------------------------------------------------------------------- planted shapes


def test_shapes_are_deterministic_and_seeded():
    first = data.shapes("train", 8, seed=3)[5]
    again = data.shapes("train", 100, seed=3)[5]  # the dataset size does not matter
    other_seed = data.shapes("train", 8, seed=4)[5]
    assert torch.equal(first.image, again.image)
    assert torch.equal(first.object_mask, again.object_mask)
    assert not torch.equal(first.image, other_seed.image)


def test_train_and_test_never_share_an_image():
    train = data.shapes("train", 32, seed=0).tensors()["images"]
    test = data.shapes("test", 32, seed=0).tensors()["images"]
    differences = (train[:, None] - test[None]).abs().flatten(2).amax(2)
    assert differences.min() > 0.1


def test_shapes_classes_are_balanced_and_consistent():
    batch = data.shapes("train", 160, seed=0).tensors()
    counts = torch.bincount(batch["labels"], minlength=16)
    assert counts.tolist() == [10] * 16
    assert torch.equal(batch["labels"], 4 * batch["shapes"] + batch["textures"])
    assert len(data.SHAPES_CLASS_NAMES) == 16 and data.SHAPES_CLASS_NAMES[6] == "square/checker"


def test_shapes_images_and_masks():
    batch = data.shapes("test", 64, seed=1).tensors()
    images, objects, distractors = batch["images"], batch["object_masks"], batch["distractor_masks"]
    assert images.shape == (64, 3, 64, 64) and images.dtype == torch.float32
    assert images.min() >= 0 and images.max() <= 1
    assert objects.shape == distractors.shape == (64, 64, 64)
    assert not (objects & distractors).any()  # disjoint
    object_area = objects.flatten(1).sum(1)
    assert (object_area > 100).all() and (object_area < 64 * 64 / 2).all()
    # masks lie inside the image with a border: the object never touches the image edge
    assert not objects[:, 0].any() and not objects[:, -1].any()
    assert not objects[:, :, 0].any() and not objects[:, :, -1].any()
    assert distractors.flatten(1).any(1).float().mean() > 0.5  # most images have distractors
    # inside the object, the texture decides: "solid" objects are uniform, others are not
    for image, mask, texture in zip(images, objects, batch["textures"]):
        spread = image[:, mask].std(dim=1).max()
        assert (spread < 1e-6) == (data.TEXTURES[texture] == "solid")


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(split="val"), "split: must be 'train' or 'test'"),
    (dict(size=0), "size: must be an integer >= 1"),
    (dict(seed=-1), "seed: must be an integer >= 0"),
])
def test_shapes_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        data.shapes(**kwargs)


# --------------------------------------------------------------------------- class table


def test_imagenet_class_table():
    table = classes.imagenet_classes()
    assert len(table.wnids) == len(table.names) == 1000
    assert list(table.wnids) == sorted(table.wnids)
    assert table.names[0] == "tench" and table.wnids[0] == "n01440764"
    assert table.index_of_wnid("n01443537") == 1
    with pytest.raises(ValueError, match="is not an ImageNet-1k class"):
        table.index_of_wnid("n02084071")  # dog.n.01 is a superclass, not a class


def test_dog_superclass_from_wordnet():
    dogs = classes.superclass_members("dog.n.01")
    assert len(dogs) == 118
    assert dogs[0] == 151 and dogs[-1] == 268
    assert np.array_equal(dogs, np.arange(151, 269))
    assert np.array_equal(classes.superclass_members("n02084071"), dogs)
    fish = classes.superclass_members("fish.n.01")
    assert 0 in fish and 151 not in fish


def test_unknown_superclass_suggests_names():
    with pytest.raises(ValueError, match=r"superclass: no ImageNet-1k class lies under 'dgo.n.01'.*'dog.n.01'"):
        classes.superclass_members("dgo.n.01")


# --------------------------------------------------------------------------- image folders


def test_imagenette_labels_are_imagenet_indices(data_dir):
    dataset = data.imagenette(data_dir)
    assert len(dataset) == 3925
    expected = {0, 217, 482, 491, 497, 566, 569, 571, 574, 701}
    assert set(dataset.labels) == expected
    image, label = dataset[0]
    assert image.mode == "RGB" and label == 0


def test_imagewoof_and_sample(data_dir):
    woof = data.imagewoof(data_dir)
    breeds = set(woof.labels)
    assert len(breeds) == 10
    # nine Imagewoof classes are dogs in WordNet; the dingo (273) is a wild dog, under canine
    assert breeds - set(classes.superclass_members("dog.n.01").tolist()) == {273}
    assert breeds <= set(classes.superclass_members("canine.n.02").tolist())
    sample = data.imagenet_sample(data_dir)
    assert sorted(sample.labels) == list(range(1000))


def test_imagenette_and_imagewoof_together_are_twenty_disjoint_classes(data_dir):
    both = data.imagenette_imagewoof(data_dir)
    nette, woof = data.imagenette(data_dir), data.imagewoof(data_dir)
    assert len(both) == len(nette) + len(woof) == 7854
    assert set(both.labels) == set(nette.labels) | set(woof.labels) and len(set(both.labels)) == 20
    capped = data.get_dataset("imagenette_imagewoof", per_class=5, seed=3, root=data_dir)
    assert len(capped) == 100 and np.bincount(capped.labels).max() == 5
    assert capped.files == data.imagenette(data_dir, 5, seed=3).files + data.imagewoof(data_dir, 5, seed=3).files
    assert capped.identity()["name"] == "imagenette_imagewoof"


def test_the_fit_and_heldout_halves_partition_each_class(data_dir):
    fit = data.imagenette_imagewoof(data_dir, split="fit")
    heldout = data.get_dataset("imagenette_imagewoof", root=data_dir, split="heldout")
    everything = data.imagenette_imagewoof(data_dir)
    assert not set(fit.files) & set(heldout.files)  # nothing a head is fitted on is analysed
    assert set(fit.files) | set(heldout.files) == set(everything.files)
    for label in set(everything.labels):  # each class split in half (the held-out half takes the odd one)
        n_fit, n_held = fit.labels.count(label), heldout.labels.count(label)
        assert n_held - n_fit in (0, 1) and n_fit + n_held == everything.labels.count(label)
    assert data.imagenette_imagewoof(data_dir, split="fit").files == fit.files  # fixed, not seeded by the caller
    capped = data.imagenette_imagewoof(data_dir, per_class=4, seed=1, split="heldout")
    assert len(capped) == 80 and set(capped.files) < set(heldout.files)
    assert data.imagenette_imagewoof(data_dir, per_class=4, seed=1, split="test").files == \
        data.imagenette_imagewoof(data_dir, per_class=4, seed=1).files
    with pytest.raises(ValueError, match="split: expected one of .* for real images, got 'train'"):
        data.imagenette_imagewoof(data_dir, split="train")


def test_per_class_cap_is_balanced_and_deterministic(data_dir):
    first = data.imagenette(data_dir, per_class=7, seed=1)
    again = data.imagenette(data_dir, per_class=7, seed=1)
    other = data.imagenette(data_dir, per_class=7, seed=2)
    assert np.bincount(first.labels).max() == 7 and len(first) == 70
    assert first.files == again.files
    assert first.files != other.files
    fewer, more = data.imagenette(data_dir, per_class=3, seed=1), data.imagenette(data_dir, per_class=12, seed=1)
    assert set(fewer.files) < set(first.files) < set(more.files)  # nested: a smaller cap keeps a subset
    with pytest.raises(ValueError, match="per_class: must be an integer >= 1"):
        data.imagenette(data_dir, per_class=0)


def test_missing_data_dir_says_what_to_set(monkeypatch):
    monkeypatch.delenv("CODEC_DATA_DIR", raising=False)
    with pytest.raises(FileNotFoundError, match="set CODEC_DATA_DIR"):
        data.imagenette()
    with pytest.raises(FileNotFoundError, match="root: '/nonexistent/place' is not a directory"):
        data.imagewoof("/nonexistent/place")


def test_wrong_layout_says_what_was_expected(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"imagenette: expected imagenette2-160/val/<wnid>/<image> at"):
        data.imagenette(tmp_path)
    bad = tmp_path / "imagewoof" / "imagewoof2-160" / "val" / "not_a_wnid"
    bad.mkdir(parents=True)
    with pytest.raises(ValueError, match="is not named by an ImageNet-1k wnid"):
        data.imagewoof(tmp_path)


def test_corrupt_image_names_the_file(tmp_path):
    folder = tmp_path / "n01440764"
    folder.mkdir()
    (folder / "broken.jpg").write_bytes(b"this is not a jpeg")
    dataset = data.imagenet(tmp_path)
    with pytest.raises(OSError, match=r"imagenet: cannot read image file .*broken\.jpg"):
        dataset[0]


def test_unknown_dataset_lists_known_ones():
    with pytest.raises(ValueError, match=r"dataset: unknown dataset 'cifar'; known datasets: \['imagenet'"):
        data.get_dataset("cifar")


def _write_jpeg(path, colour):
    from PIL import Image

    Image.new("RGB", (8, 8), colour).save(path)


def test_imagenet_layouts(tmp_path):
    # <wnid>/<image>
    folders = tmp_path / "folders"
    (folders / "n01440764").mkdir(parents=True)
    _write_jpeg(folders / "n01440764" / "a.JPEG", "red")
    dataset = data.imagenet(folders)
    assert dataset.labels == [0]
    # flat files with Kaggle's LOC_val_solution.csv in the parent folder
    flat = tmp_path / "kaggle" / "val"
    flat.mkdir(parents=True)
    _write_jpeg(flat / "ILSVRC2012_val_00000002.JPEG", "blue")
    _write_jpeg(flat / "ILSVRC2012_val_00000001.JPEG", "green")
    (tmp_path / "kaggle" / "LOC_val_solution.csv").write_text(
        "ImageId,PredictionString\n"
        "ILSVRC2012_val_00000002,n01443537 1 2 3 4\n"
        "ILSVRC2012_val_00000001,n01440764 5 6 7 8 n01440764 1 1 2 2\n"
    )
    dataset = data.imagenet(flat)
    assert [f.name for f in dataset.files] == ["ILSVRC2012_val_00000001.JPEG", "ILSVRC2012_val_00000002.JPEG"]
    assert dataset.labels == [0, 1]
    image, label = dataset[1]
    assert image.getpixel((0, 0))[2] > 200 and label == 1


def test_imagenette_download_path_uses_torchvision(tmp_path, monkeypatch):
    import torchvision

    calls = []

    class FakeImagenette:  # stands in for the network download; writes the real layout
        def __init__(self, root, split, size, download):
            calls.append((split, size, download))
            folder = Path(root) / "imagenette2-160" / "val" / "n03888257"
            folder.mkdir(parents=True)
            _write_jpeg(folder / "x.JPEG", "white")

    monkeypatch.setattr(torchvision.datasets, "Imagenette", FakeImagenette)
    dataset = data.imagenette(tmp_path, download=True)
    assert calls == [("val", "160px", True)]
    assert dataset.labels == [701]  # parachute, by wnid
    data.imagenette(tmp_path, download=True)  # already there: no second download
    assert len(calls) == 1


def test_model_inputs_apply_the_transform_once(tmp_path):
    dataset = data.shapes("test", 6)
    inputs, labels = data.model_inputs(dataset, [1, 4], lambda x: 2 * x)
    assert torch.equal(inputs, 2 * dataset.tensors([1, 4])["images"])
    assert labels.tolist() == [1, 4]
    (tmp_path / "n01440764").mkdir()
    _write_jpeg(tmp_path / "n01440764" / "a.JPEG", "red")
    from torchvision.transforms import functional

    plain = data.imagenet(tmp_path)  # items are PIL images: the given transform applies
    inputs, labels = data.model_inputs(plain, [0], functional.to_tensor)
    assert inputs.shape == (1, 3, 8, 8) and labels.tolist() == [0]
    own = data.imagenet(tmp_path, transform=functional.to_tensor)  # its own transform: used as is
    again, _ = data.model_inputs(own, [0], lambda image: (_ for _ in ()).throw(AssertionError("twice")))
    assert torch.equal(again, inputs)


# --------------------------------------------------------------------------- the dataset protocol


def test_every_dataset_yields_items_with_image_label_extras_and_knows_its_identity(tmp_path):
    shapes_set = data.shapes("test", 4, seed=2)
    item = shapes_set[1]
    assert item.label == 1 and set(item.extras) == {"shape", "texture", "object_mask", "distractor_mask"}
    assert shapes_set.identity() == {"name": "shapes", "split": "test", "size": 4, "seed": 2,
                                     "data_version": data.SHAPES_DATA_VERSION}
    (tmp_path / "n01440764").mkdir()
    _write_jpeg(tmp_path / "n01440764" / "a.JPEG", "red")
    folder = data.imagenet(tmp_path)
    item = folder[0]
    image, label = item  # the torchvision pair still unpacks
    assert image is item.image and label == item.label == 0 and item[1] == 0
    assert item.extras["file"].endswith("a.JPEG")
    identity = folder.identity()
    assert identity["name"] == "imagenet" and identity["size"] == 1 and len(identity["files_sha256"]) == 16
    (tmp_path / "n01440764" / "b.JPEG").write_bytes((tmp_path / "n01440764" / "a.JPEG").read_bytes())
    assert data.imagenet(tmp_path).identity() != identity  # another selection, another identity
    assert folder.class_names[0] == "tench"


def test_a_dataset_without_identity_is_refused_by_name():
    with pytest.raises(TypeError, match="dataset: list has no identity\\(\\) method"):
        data.dataset_identity([1, 2])


def test_registry_gives_every_dataset_the_same_arguments(monkeypatch):
    monkeypatch.setattr(data, "DATASETS", dict(data.DATASETS))
    assert len(data.get_dataset("shapes", per_class=2, seed=1)) == 32
    with pytest.raises(ValueError, match="per_class: the planted images are generated"):
        data.get_dataset("shapes")
    with pytest.raises(ValueError, match="name: a dataset named 'shapes' is already registered"):
        data.register_dataset("shapes")(lambda **kwargs: None)

    @data.register_dataset("stimuli")
    def stimuli(per_class=None, seed=0, root=None, split="test"):  # a time series, e.g. retina stimuli
        return [data.Item(torch.full((4, 5, 5), float(i)), i % 2) for i in range(per_class * 2)]

    dataset = data.get_dataset("stimuli", per_class=3)
    inputs, labels = data.model_inputs(dataset, [0, 5], lambda stimulus: stimulus * 2)
    assert inputs.shape == (2, 4, 5, 5) and inputs[1, 0, 0, 0] == 10 and labels.tolist() == [0, 1]


def test_items_batch_through_a_dataloader_and_survive_pickling(tmp_path):
    import pickle

    from torch.utils.data import DataLoader

    item = data.Item(torch.ones(2), 3, {"file": "x"})
    again = pickle.loads(pickle.dumps(item))
    assert again.label == 3 and again.extras == {"file": "x"} and torch.equal(again.image, item.image)
    dataset = [data.Item(torch.full((2,), float(i)), i, {"file": str(i)}) for i in range(4)]
    images, labels = next(iter(DataLoader(dataset, batch_size=4)))
    assert images.shape == (4, 2) and labels.tolist() == [0, 1, 2, 3]
