#!/usr/bin/env python3
"""Exports a Keras model (.h5 or SavedModel, e.g. the course's mnist.h5) as a
SavedModel that tfrun's TensorFlow engine can both run and train:

  serving_default(x)   -> {"output": the model's output}
  train_step(x, y)     -> {"loss", "accuracy"}; one optimizer step on the batch

x is float32 [batch, ...input], y int32 class labels [batch, ...output without
its last axis] (one per example, or per pixel for segmentation). The loss is
sparse categorical cross-entropy on the model's probabilities, or binary
cross-entropy for a single sigmoid output, as the course trains them.

  python3 scripts/export_trainable.py MODEL OUT_DIR [--optimizer adam] [--learning-rate 0.001]
  tfrun train --engine tensorflow --init OUT_DIR --config RUN.yaml --out runs/tf

RUN.yaml has tfrun's data: and train: sections (epochs, batch_size, seed)
and no model:; the optimizer is the one exported here.

Needs TensorFlow 2.x with Keras 2 (tf.keras; from TensorFlow 2.16 on, the
tf_keras package with TF_USE_LEGACY_KERAS=1).
"""
import argparse

import tensorflow as tf


def optimizer(name, lr):
    return {
        "adam": tf.keras.optimizers.Adam,
        "rmsprop": tf.keras.optimizers.RMSprop,
        "sgd": tf.keras.optimizers.SGD,
    }[name](learning_rate=lr)


class Trainable(tf.Module):
    """The model with its optimizer and loss, whose functions become the
    SavedModel's signatures."""

    def __init__(self, model, opt):
        super().__init__()
        self.model = model
        self.opt = opt
        self.binary = model.output_shape[-1] == 1
        if self.binary:
            self.loss = tf.keras.losses.BinaryCrossentropy()
        else:
            self.loss = tf.keras.losses.SparseCategoricalCrossentropy()

    def serve(self, x):
        return {"output": self.model(x, training=False)}

    def train_step(self, x, y):
        with tf.GradientTape() as tape:
            p = self.model(x, training=True)
            target = tf.cast(tf.expand_dims(y, -1), p.dtype) if self.binary else y
            loss = self.loss(target, p)
        variables = self.model.trainable_variables
        self.opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        if self.binary:
            pred = tf.cast(p[..., 0] > 0.5, tf.int32)
        else:
            pred = tf.argmax(p, axis=-1, output_type=tf.int32)
        accuracy = tf.reduce_mean(tf.cast(tf.equal(pred, y), tf.float32))
        return {"loss": loss, "accuracy": accuracy}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="Keras model: .h5 file or SavedModel folder")
    p.add_argument("out", help="SavedModel folder to write")
    p.add_argument("--optimizer", choices=["adam", "rmsprop", "sgd"], default="adam")
    p.add_argument("--learning-rate", type=float, default=0.001)
    a = p.parse_args()

    model = tf.keras.models.load_model(a.model, compile=False)
    module = Trainable(model, optimizer(a.optimizer, a.learning_rate))
    # The optimizer's slots must exist before tracing: a step with zero
    # gradients creates them and moves no weight (Adam's, RMSprop's and
    # momentum's updates are all zero then).
    variables = model.trainable_variables
    module.opt.apply_gradients(zip([tf.zeros_like(v) for v in variables], variables))

    x = tf.TensorSpec([None] + list(model.input_shape[1:]), tf.float32, name="x")
    y = tf.TensorSpec([None] + list(model.output_shape[1:-1]), tf.int32, name="y")
    serve = tf.function(module.serve, input_signature=[x])
    train = tf.function(module.train_step, input_signature=[x, y])
    signatures = {"serving_default": serve.get_concrete_function(), "train_step": train.get_concrete_function()}
    tf.saved_model.save(module, a.out, signatures=signatures)
    print("wrote %s: serving_default %s -> %s; train_step(x, y int32 %s)" % (
        a.out, x.shape, model.output_shape, y.shape))


if __name__ == "__main__":
    main()
