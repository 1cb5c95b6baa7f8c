// tanh with a known accuracy on every driver (the built-in's precision is left to the implementation):
// an odd polynomial near zero, where 1 - 2 / (e^2x + 1) would cancel, and that formula elsewhere.
float tanh_accurate(float x) {
    float ax = abs(x);
    if (ax < 0.0625) {
        float x2 = x * x;
        return x * (1.0 + x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0))));
    }
    float t = 1.0 - 2.0 / (exp(min(2.0 * ax, 88.0)) + 1.0);
    return x < 0.0 ? -t : t;
}
