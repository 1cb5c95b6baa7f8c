package io.llmnpu.runtime.quant;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Activation statistics of a model, from FP32 prefill over calibration text: for every layer, the
 * statistics of each linear site's input and the largest |output| of each linear layer. Saved beside
 * the model as {@code MODEL.calib.json} (format: docs/calibration.md).
 *
 * @param model       file name of the model the statistics belong to
 * @param modelBytes  its size, to notice a different file of the same name
 * @param dim         residual width of the model
 * @param text        name of the calibration text
 * @param sequences   sequences run
 * @param tokens      tokens run
 * @param percentile  the percentile of |x| that sets the clipped scales
 * @param layers      per transformer block
 */
public record CalibrationData(String model, long modelBytes, int dim, String text, int sequences, long tokens,
                              double percentile, List<Layer> layers) {

    public CalibrationData {
        layers = List.copyOf(layers);
    }

    /** One transformer block: its four input sites and the output ranges of its seven linear layers. */
    public record Layer(Map<LinearSite, SiteCalibration> sites, Map<LinearLayer, Float> outputAbsMax) {
        public Layer {
            sites = Map.copyOf(sites);
            outputAbsMax = Map.copyOf(outputAbsMax);
            for (LinearSite s : LinearSite.values()) {
                if (!sites.containsKey(s)) {
                    throw new IllegalArgumentException("calibration lacks site " + s.key());
                }
            }
        }

        public SiteCalibration site(LinearSite s) {
            return sites.get(s);
        }
    }

    /** A (layer, site) pair, for ranking sites by importance. */
    public record SiteRef(int layer, LinearSite site) {
    }

    public SiteCalibration site(int layer, LinearSite site) {
        return layers.get(layer).site(site);
    }

    /**
     * The {@code fraction} of all sites with the highest importance (at least one), most important first:
     * the sites where shadow execution pays off most.
     */
    public List<SiteRef> mostImportant(double fraction) {
        List<SiteRef> all = new ArrayList<>();
        for (int l = 0; l < layers.size(); l++) {
            for (LinearSite s : LinearSite.values()) {
                all.add(new SiteRef(l, s));
            }
        }
        all.sort(Comparator.comparingDouble((SiteRef r) -> site(r.layer(), r.site()).importance()).reversed());
        int keep = (int) Math.max(1, Math.round(fraction * all.size()));
        return List.copyOf(all.subList(0, Math.min(keep, all.size())));
    }
}
