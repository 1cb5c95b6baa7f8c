package io.llmnpu.tck.skip;

import io.llmnpu.api.backend.BackendProvider;
import java.lang.reflect.AnnotatedElement;
import java.util.Optional;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;

/** Evaluates {@link RequiresBackend}: enabled only when every named backend can run here. */
public final class RequiresBackendCondition implements ExecutionCondition {

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        Optional<AnnotatedElement> element = context.getElement();
        Optional<RequiresBackend> required = element.flatMap(e -> AnnotationSupport.findAnnotation(e, RequiresBackend.class));
        if (required.isEmpty()) {
            return ConditionEvaluationResult.enabled("no backend required");
        }
        ClassLoader loader = context.getTestClass().map(Class::getClassLoader)
                .orElseGet(() -> Thread.currentThread().getContextClassLoader());
        for (String name : required.get().value()) {
            Optional<BackendProvider> provider = BackendAssumptions.find(name, loader);
            if (provider.isEmpty()) {
                return ConditionEvaluationResult.disabled("no backend named '" + name + "' is on the test class path");
            }
            String reason = BackendAssumptions.unavailableReason(provider.get());
            if (!reason.isEmpty()) {
                return ConditionEvaluationResult.disabled("backend " + name + " cannot run here: " + reason);
            }
        }
        return ConditionEvaluationResult.enabled("the required backends can run here");
    }
}
