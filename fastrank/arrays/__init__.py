"""Arrays ready for the kernels: conversion of array-likes to numpy, per-row columns checked,
grouping into CSR offsets, the thread pool the kernels run on, and the checks of scalar options."""
